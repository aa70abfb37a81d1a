package qat

import (
	"math"

	"github.com/warboy-sim/warboy/kernels"
)

// The forward pass of a stride-1 convolution as an implicit GEMM
// (kernels.SgemmShifted, as the float runtime runs it): each image's channels are
// copied once into zero-padded planes, where every kernel tap is one constant
// shift of the output position numbered over the padded width, so the
// micro-kernel reads its columns in place instead of from an im2col copy and its
// packing. The columns past each output row are computed and dropped. The sums are
// those of kernels.Sgemm over the im2col matrix (same micro-kernel, same reduction
// blocks).

// shiftGeom is the padded layout of one image for the shifted forward pass.
// A strided convolution's layout (conv_phases.go) splits each channel's padded
// image into sh×sw phase planes of pph×ppw; a stride-1 layout has one plane per
// channel.
type shiftGeom struct {
	pph, ppw, pp int     // padded (phase) rows, columns, floats per channel
	q            int     // GEMM columns: oh-1 padded rows, then ow
	size         int     // buffer floats: the planes, then a panel of slack
	off          []int32 // per group-local GEMM row (ci, i, j)
	sh, sw       int     // phases per axis (the strides)
	used         []bool  // per phase a*sw+b: read by a tap
}

// shifted returns the layout, or nil when the dropped columns would make the
// GEMM more than 1.5 times longer. (BenchmarkConvPaths, the ResNet's 3x3 layers
// at batch 64 and 1 thread, two runs on a loaded machine: the shifted paths were
// faster than the im2col chunks in 11 of 12 comparisons, by 10-60 %, down to 7x7
// maps, where 49 outputs take 64 columns.)
func (g *convGeom) shifted() *shiftGeom { return g.shiftLayout(true) }

// shiftLayout is shifted, the cost check only when checkWaste (tests force the
// layout on small maps).
//
// Tap (i, j) of output (oy, ox) reads padded row oy*sh + i*dh, which is row
// oy + i*dh/sh of phase (i*dh) mod sh (and likewise for the columns): in the
// phase planes every tap is again one constant shift of the output position
// numbered over the plane's width. With stride 1 there is one phase and the
// planes are the padded images.
func (g *convGeom) shiftLayout(checkWaste bool) *shiftGeom {
	s := &shiftGeom{sh: g.sh, sw: g.sw, pph: g.oh + (g.kh-1)*g.dh/g.sh, ppw: g.ow + (g.kw-1)*g.dw/g.sw}
	plane := s.pph * s.ppw
	s.pp = g.sh * g.sw * plane
	s.q = (g.oh-1)*s.ppw + g.ow
	nPad := (s.q + 15) / 16 * 16
	if checkWaste && nPad*100 > g.p*150 || int64(g.c)*int64(s.pp)+int64(nPad) > math.MaxInt32 {
		return nil
	}
	s.size = g.c*s.pp + nPad
	s.off = make([]int32, g.k)
	s.used = make([]bool, g.sh*g.sw)
	for ci := 0; ci < g.cg; ci++ {
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				ty, tx := i*g.dh, j*g.dw
				ph := ty%g.sh*g.sw + tx%g.sw
				s.used[ph] = true
				s.off[(ci*g.kh+i)*g.kw+j] = int32(ci*s.pp + ph*plane + ty/g.sh*s.ppw + tx/g.sw)
			}
		}
	}
	return s
}

// fill lays image x (C planes of H×W) out in buf: input row y at padded row y+pt,
// column x at x+pl, zeros elsewhere.
func (s *shiftGeom) fill(g *convGeom, x, buf []float32) { s.fillQ(g, x, buf, nil) }

// fillQuant is the fake quantization a stride-1 convolution applies to its input
// as it lays it out (fuseFakeQuantIntoConv): the fake quantization's input is
// read and its output, which nothing else reads, is never stored.
type fillQuant struct {
	scale float32
	zp    int32
	relu  bool // of max(x, 0): a Relu fused into the fake quantization
}

// rows moves rows of w floats (kernels.RowsCopyF32), fake-quantized when q is
// not nil (kernels.RowsFakeQuantF32: the values FakeQuantF32 and
// FakeQuantReluF32 give, so the padded image holds what the fake
// quantization's pass would have written).
func (q *fillQuant) rows(dst []float32, ds int, src []float32, ss, w, rows int) {
	if q == nil {
		kernels.RowsCopyF32(dst, ds, src, ss, w, rows)
		return
	}
	kernels.RowsFakeQuantF32(dst, ds, src, ss, w, rows, q.scale, q.zp, q.relu)
}

// fillQ is fill with the rows fake-quantized by q (nil: copied; stride 1 only).
func (s *shiftGeom) fillQ(g *convGeom, x, buf []float32, q *fillQuant) {
	if s.sh != 1 || s.sw != 1 {
		if q != nil {
			panic("qat: a fake quantization fused into a strided layout")
		}
		s.fillPhases(g, x, buf)
		return
	}
	for ci := 0; ci < g.c; ci++ {
		xc := x[ci*g.h*g.w : (ci+1)*g.h*g.w]
		d := buf[ci*s.pp : (ci+1)*s.pp]
		jhi := min(s.ppw, g.w+g.pl)
		for r := 0; r < s.pph; r++ {
			row := d[r*s.ppw : (r+1)*s.ppw]
			y := r - g.pt
			if y < 0 || y >= g.h || g.pl >= jhi {
				clear(row)
				continue
			}
			clear(row[:g.pl])
			q.rows(row[g.pl:jhi], jhi-g.pl, xc[y*g.w:], g.w, jhi-g.pl, 1)
			clear(row[jhi:])
		}
	}
	clear(buf[g.c*s.pp : s.size])
}

// padded is a buffer that holds one image in a shifted layout. Only fill and
// refill write it: after the first fill of a layout its padding (and the slack
// after the planes) is zero and stays zero, so the next images of that layout
// copy their rows and nothing else.
type padded struct {
	buf []float32
	of  *shiftGeom // the layout whose zeros buf holds; nil: none
}

// fill lays image x out in p's buffer in layout s (geometry g) and returns it.
func (p *padded) fill(s *shiftGeom, g *convGeom, x []float32) []float32 {
	return p.fillQ(s, g, x, nil)
}

// fillQ is fill with the rows fake-quantized by q (nil: copied).
func (p *padded) fillQ(s *shiftGeom, g *convGeom, x []float32, q *fillQuant) []float32 {
	if p.of != s || len(p.buf) != s.size {
		p.buf = grow(p.buf, s.size)
		s.fillQ(g, x, p.buf, q)
		p.of = s
		return p.buf
	}
	s.refillQ(g, x, p.buf, q)
	return p.buf
}

// refill writes the rows of image x where fill puts them, leaving the rest of
// buf (zero after a fill of the same layout) as it is.
func (s *shiftGeom) refill(g *convGeom, x, buf []float32) { s.refillQ(g, x, buf, nil) }

// refillQ is refill with the rows fake-quantized by q (nil: copied).
func (s *shiftGeom) refillQ(g *convGeom, x, buf []float32, q *fillQuant) {
	if s.sh != 1 || s.sw != 1 {
		if q != nil {
			panic("qat: a fake quantization fused into a strided layout")
		}
		s.refillPhases(g, x, buf)
		return
	}
	jhi := min(s.ppw, g.w+g.pl)
	if g.pl >= jhi {
		return
	}
	r0, r1 := max(0, g.pt), min(s.pph, g.h+g.pt)
	if r1 <= r0 {
		return
	}
	for ci := 0; ci < g.c; ci++ {
		xc := x[ci*g.h*g.w : (ci+1)*g.h*g.w]
		d := buf[ci*s.pp : (ci+1)*s.pp]
		// the plane's rows in one call (rows of 7-28 floats: a copy each cost
		// more in calls than in moves)
		q.rows(d[r0*s.ppw+g.pl:], s.ppw, xc[(r0-g.pt)*g.w:], g.w, jhi-g.pl, r1-r0)
	}
}

// forwardShifted computes y = conv(x, w) + bias (bias may be nil) image by image.
func (c *convCore) forwardShifted(s *shiftGeom, x, w, bias, y []float32, threads int) {
	g := &c.g
	pa := c.packWeights(false, w)
	_, _, workers, inner := c.splitImages(1, threads)
	mm := c.wantMinMax && len(y) > 0
	for wk := range workers {
		c.scratch[wk].has = false
	}
	runChunks(g.n, workers, func(wk, n int) {
		sc := &c.scratch[wk]
		xp := sc.xpad.fillQ(s, g, x[n*g.c*g.h*g.w:(n+1)*g.c*g.h*g.w], c.xq)
		yn := y[n*g.oc*g.p : (n+1)*g.oc*g.p]
		for gi := 0; gi < g.group; gi++ {
			yg := yn[gi*g.ocg*g.p:]
			var bg []float32
			if bias != nil {
				bg = bias[gi*g.ocg : (gi+1)*g.ocg]
			}
			kernels.SgemmShifted(pa[gi], xp[gi*g.cg*s.pp:], s.off, s.q, false, 0, 0, inner, func(cb []float32, ldc, r0, r1, j0, nc int) {
				runs := s.rowRuns(j0, nc, g.ow)
				for r := r0; r < r1; r++ {
					src := cb[(r-r0)*ldc:]
					dst := yg[r*g.p : (r+1)*g.p]
					for _, u := range runs.all() {
						if bg == nil {
							kernels.RowsCopyF32(dst[u.d:], g.ow, src[u.q:], s.ppw, u.w, u.rows)
						} else {
							// the bias added in the store (the sum the
							// separate pass over y computed)
							kernels.RowsBiasF32(dst[u.d:], g.ow, src[u.q:], s.ppw, u.w, u.rows, bg[r])
						}
					}
				}
			})
		}
		if mm && len(yn) > 0 {
			// the image's output, read again while it is in cache
			lo, hi := kernels.MinMaxF32(yn)
			if !sc.has {
				sc.lo, sc.hi, sc.has = lo, hi, true
			} else {
				sc.lo, sc.hi = min(sc.lo, lo), max(sc.hi, hi)
			}
		}
	})
	if mm {
		for wk := range workers {
			sc := &c.scratch[wk]
			if !sc.has {
				continue
			}
			if !c.hasMinMax {
				c.minLo, c.maxHi, c.hasMinMax = sc.lo, sc.hi, true
			} else {
				c.minLo, c.maxHi = min(c.minLo, sc.lo), max(c.maxHi, sc.hi)
			}
		}
	}
}

// rowRun is a run of output rows in a block of the shifted GEMM's columns: rows
// rows of w floats, the first at column q of the block (the next ppw further)
// and at d in the output plane (the next ow further).
type rowRun struct{ q, d, w, rows int }

// rowRuns holds the (at most three) runs of a block, without an allocation per
// store.
type rowRuns struct {
	r [3]rowRun
	n int
}

func (rs *rowRuns) add(r rowRun) { rs.r[rs.n] = r; rs.n++ }

func (rs *rowRuns) all() []rowRun { return rs.r[:rs.n] }

// rowRuns splits the block of GEMM columns [j0, j0+nc) (numbered over the padded
// width) into the output columns it holds (the first ow of each padded row):
// the end of a row the block starts inside, the whole rows, the start of a row
// it ends inside. Runs of no column are left out.
func (s *shiftGeom) rowRuns(j0, nc, ow int) rowRuns {
	var runs rowRuns
	q, end := j0, j0+nc
	if ox := q % s.ppw; ox != 0 {
		oy := q / s.ppw
		if e := min(end-oy*s.ppw, ow); ox < e {
			runs.add(rowRun{q - j0, oy*ow + ox, e - ox, 1})
		}
		q = min(end, (oy+1)*s.ppw)
	}
	if end-q >= ow {
		k := (end-q-ow)/s.ppw + 1
		runs.add(rowRun{q - j0, q / s.ppw * ow, ow, k})
		q += k * s.ppw
	}
	if q < end {
		runs.add(rowRun{q - j0, q / s.ppw * ow, min(end-q, ow), 1})
	}
	return runs
}

// The input gradient of a stride-1 convolution is itself a stride-1 convolution:
// of dy, padded by (KH-1)*DH - PT on top (and likewise on the other sides), with
// the weights transposed per group ([C][OC] instead of [OC][C]) and flipped in
// both kernel axes. Run as an implicit GEMM, it replaces the columns' gradient and
// its scatter back to the pixels (col2im) with the GEMM alone, whose store adds
// each finished block to dx. The sum of a pixel's gradient is then one reduction
// over (output channel, tap) instead of per-tap sums added one after another.

// transposedConv is the layout of that convolution (g its geometry: dy in, dx out).
type transposedConv struct {
	g  convGeom
	s  *shiftGeom
	wt []float32
}

// transposed returns the input-gradient convolution of g (set to its input), or nil
// when g is strided, a padding exceeds the kernel's extent, or the shifted layout
// does not apply (checkWaste: as in shiftLayout).
func (g *convGeom) transposed(checkWaste bool) *transposedConv {
	if g.sh != 1 || g.sw != 1 {
		return nil
	}
	ey, ex := (g.kh-1)*g.dh, (g.kw-1)*g.dw
	t := &transposedConv{g: convGeom{c: g.oc, oc: g.c, group: g.group, kh: g.kh, kw: g.kw, sh: 1, sw: 1, dh: g.dh, dw: g.dw,
		pt: ey - g.pt, pl: ex - g.pl, pb: ey - g.pb, pr: ex - g.pr}}
	if t.g.pt < 0 || t.g.pl < 0 || t.g.pb < 0 || t.g.pr < 0 {
		return nil
	}
	if err := t.g.setInput([]int{g.n, g.oc, g.oh, g.ow}); err != nil || t.g.oh != g.h || t.g.ow != g.w {
		return nil
	}
	if t.s = t.g.shiftLayout(checkWaste); t.s == nil {
		return nil
	}
	return t
}

// pack returns each group's transposed, flipped weights packed for the GEMM:
// [Cg][OCg*KH*KW], row ci holding w[o][ci][KH-1-i][KW-1-j] at (o*KH+i)*KW+j.
func (t *transposedConv) pack(g *convGeom, w []float32) []*kernels.PackedA {
	taps := g.kh * g.kw
	kt := g.ocg * taps
	t.wt = grow(t.wt, g.cg*kt)
	pa := make([]*kernels.PackedA, g.group)
	for gi := range pa {
		for ci := 0; ci < g.cg; ci++ {
			for o := 0; o < g.ocg; o++ {
				src := w[((gi*g.ocg+o)*g.cg+ci)*taps:][:taps]
				dst := t.wt[ci*kt+o*taps:][:taps]
				for k, v := range src {
					dst[taps-1-k] = v
				}
			}
		}
		pa[gi] = kernels.PackSgemmA(false, g.cg, kt, t.wt, kt, nil)
	}
	return pa
}

// inputGradShifted adds the input gradient to dx image by image, or with set
// writes it (every element of dx is stored exactly once; the GEMM's sums start
// from +0 and so are never -0, which makes the copy the same bits as adding to a
// cleared dx).
//
// With ste (set, or not set with ste.acc) the store writes ste.dx instead, the
// gradient (plus ste.acc) masked by the fake quantization that computed the
// input (fuseSTEIntoConv); dx is not written.
func (c *convCore) inputGradShifted(t *transposedConv, w, dy, dx []float32, set bool, ste *steStore, threads int) {
	c.inputGradShiftedEach(t, w, dy, dx, set, ste, threads, nil)
}

// inputGradShiftedEach is inputGradShifted that calls each(n, dyp) after image
// n, dyp its dy in t's padded layout (one worker only: each runs on the images
// in order).
func (c *convCore) inputGradShiftedEach(t *transposedConv, w, dy, dx []float32, set bool, ste *steStore, threads int, each func(n int, dyp []float32)) {
	g, tg, s := &c.g, &t.g, t.s
	pa := t.pack(g, w)
	hw := g.h * g.w
	_, _, workers, inner := c.splitImages(1, threads)
	runChunks(g.n, workers, func(wk, n int) {
		sc := &c.scratch[wk]
		dyp := sc.dypad.fill(s, tg, dy[n*g.oc*g.p:(n+1)*g.oc*g.p])
		var dxn, sxn, axn []float32
		if ste != nil {
			dxn, sxn = ste.dx[n*g.c*hw:(n+1)*g.c*hw], ste.x[n*g.c*hw:(n+1)*g.c*hw]
			if ste.acc != nil {
				axn = ste.acc[n*g.c*hw : (n+1)*g.c*hw]
			}
		} else {
			dxn = dx[n*g.c*hw : (n+1)*g.c*hw]
		}
		for gi := 0; gi < g.group; gi++ {
			dxg := dxn[gi*g.cg*hw:]
			kernels.SgemmShifted(pa[gi], dyp[gi*g.ocg*s.pp:], s.off, s.q, false, 0, 0, inner, func(cb []float32, ldc, r0, r1, j0, nc int) {
				runs := s.rowRuns(j0, nc, g.w)
				for r := r0; r < r1; r++ {
					src := cb[(r-r0)*ldc:]
					dst := dxg[r*hw : (r+1)*hw]
					for _, u := range runs.all() {
						if axn != nil {
							o := (gi*g.cg+r)*hw + u.d
							kernels.RowsSTEAccSetF32(dst[u.d:], g.w, src[u.q:], s.ppw, u.w, u.rows, axn[o:], sxn[o:], ste.lo, ste.hi)
						} else if ste != nil {
							xs := sxn[(gi*g.cg+r)*hw:][u.d:]
							kernels.RowsSTESetF32(dst[u.d:], g.w, src[u.q:], s.ppw, u.w, u.rows, xs, ste.lo, ste.hi)
						} else if set {
							kernels.RowsCopyF32(dst[u.d:], g.w, src[u.q:], s.ppw, u.w, u.rows)
						} else {
							kernels.RowsAddF32(dst[u.d:], g.w, src[u.q:], s.ppw, u.w, u.rows)
						}
					}
				}
			})
		}
		if each != nil {
			each(n, dyp)
		}
	})
}
