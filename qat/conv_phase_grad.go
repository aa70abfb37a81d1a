package qat

import (
	"math"

	"github.com/warboy-sim/warboy/kernels"
)

// The input gradient of a strided convolution on phase planes. Input pixel (Y, X)
// of the padded image, with Y = R·sh + a and X = Q·sw + b, is read by the taps (i, j)
// with i·dh ≡ a (mod sh) and j·dw ≡ b (mod sw), tap (i, j) at output position
// (R − i·dh/sh, Q − j·dw/sw) (integer division). So each phase (a, b) of the input
// gradient is a stride-1 correlation of dy with that phase's taps:
//
//	dx[c][R·sh+a−pt][Q·sw+b−pl] = Σ_o Σ_(i,j in phase) w[o][c][i][j] · dy[o][R − ti][Q − tj]
//
// With dy zero-padded by the largest shift on top and left (and laid out over a
// common padded width), every tap is one constant shift of (R, Q) numbered over that
// width, and each phase runs as an implicit GEMM (kernels.SgemmShifted, as the
// stride-1 layers' input gradient does) whose store writes the phase's pixels of dx.
// This replaces the column matrix's gradient (9·C rows for a 3x3 layer) and its
// scatter back to the pixels (col2im). Every pixel belongs to exactly one phase, so
// with set every element of dx is written once; a phase no tap reaches (the odd
// pixels of a 1x1 stride-2 layer) gets +0. The sum of a pixel's gradient is one
// reduction over (output channel, tap): it differs from the col2im path's per-tap
// sums by rounding.

// phaseGrad is the layout of a strided convolution's input gradient on phase planes.
type phaseGrad struct {
	ti, tj     int // dy's padding on top and left: the largest shifts (kh-1)·dh/sh, (kw-1)·dw/sw
	hd, wd     int // padded dy rows and columns
	pd         int // floats per padded dy channel
	rows, cols int // phase-plane rows R and columns Q that hold input pixels
	q          int // GEMM columns: rows-1 padded rows, then cols
	size       int // dy buffer floats: the channels, then a panel of slack
	phases     []gradPhase
}

// gradPhase is one phase (a, b) of the input gradient: its taps (i·kw+j) and, per
// group-local GEMM row o·len(taps)+t, the offset of tap t of channel o in padded dy.
type gradPhase struct {
	a, b int
	taps []int
	off  []int32
}

// phased returns g's phase-plane input-gradient layout, or nil when g has stride 1
// or the buffer would not be indexable by int32.
func (g *convGeom) phased() *phaseGrad {
	if g.sh == 1 && g.sw == 1 {
		return nil
	}
	p := &phaseGrad{ti: (g.kh - 1) * g.dh / g.sh, tj: (g.kw - 1) * g.dw / g.sw}
	p.rows = (g.h + g.pt + g.sh - 1) / g.sh
	p.cols = (g.w + g.pl + g.sw - 1) / g.sw
	p.hd = max(p.rows, g.oh) + p.ti
	p.wd = max(p.cols, g.ow) + p.tj
	p.pd = p.hd * p.wd
	p.q = (p.rows-1)*p.wd + p.cols
	nPad := (p.q + 15) / 16 * 16
	if int64(g.oc)*int64(p.pd)+int64(nPad) > math.MaxInt32 {
		return nil
	}
	p.size = g.oc*p.pd + nPad
	for a := 0; a < g.sh; a++ {
		for b := 0; b < g.sw; b++ {
			ph := gradPhase{a: a, b: b}
			for i := 0; i < g.kh; i++ {
				for j := 0; j < g.kw; j++ {
					if i*g.dh%g.sh == a && j*g.dw%g.sw == b {
						ph.taps = append(ph.taps, i*g.kw+j)
					}
				}
			}
			nt := len(ph.taps)
			ph.off = make([]int32, g.ocg*nt)
			for o := 0; o < g.ocg; o++ {
				for t, tap := range ph.taps {
					i, j := tap/g.kw, tap%g.kw
					ph.off[o*nt+t] = int32(o*p.pd + (p.ti-i*g.dh/g.sh)*p.wd + p.tj - j*g.dw/g.sw)
				}
			}
			p.phases = append(p.phases, ph)
		}
	}
	return p
}

// fill lays image dy (OC planes of oh×ow) out in buf: row r at padded row r+ti,
// column x at x+tj, zeros elsewhere; with fresh the zeros are written too (a buffer
// filled before in this layout keeps them).
func (p *phaseGrad) fill(g *convGeom, dy, buf []float32, fresh bool) {
	if fresh {
		clear(buf[:p.size])
	}
	for o := 0; o < g.oc; o++ {
		kernels.RowsCopyF32(buf[o*p.pd+p.ti*p.wd+p.tj:], p.wd, dy[o*g.p:], g.ow, g.ow, g.oh)
	}
}

// pack returns, per phase and group, the weights of the phase's taps transposed and
// packed for the GEMM ([Cg][OCg·taps], row ci holding w[o][ci][tap t] at o·taps+t);
// nil for a phase without taps.
func (p *phaseGrad) pack(g *convGeom, w []float32, wt []float32) ([][]*kernels.PackedA, []float32) {
	taps := g.kh * g.kw
	pa := make([][]*kernels.PackedA, len(p.phases))
	for pi, ph := range p.phases {
		nt := len(ph.taps)
		if nt == 0 {
			continue
		}
		kt := g.ocg * nt
		wt = grow(wt, g.cg*kt)
		pa[pi] = make([]*kernels.PackedA, g.group)
		for gi := range pa[pi] {
			for ci := 0; ci < g.cg; ci++ {
				row := wt[ci*kt : (ci+1)*kt]
				for o := 0; o < g.ocg; o++ {
					src := w[((gi*g.ocg+o)*g.cg+ci)*taps:][:taps]
					for t, tap := range ph.taps {
						row[o*nt+t] = src[tap]
					}
				}
			}
			pa[pi][gi] = kernels.PackSgemmA(false, g.cg, kt, wt, kt, nil)
		}
	}
	return pa, wt
}

// inputGradPhased adds the input gradient of the strided convolution g to dx image
// by image, or with set writes it (every element once). With ste (set, or not
// set with ste.acc) the store writes ste.dx instead, masked by the fake
// quantization that computed the input (as inputGradShifted); dx is not written.
//
// Added, each phase's values go straight to their pixels (a strided scatter).
// Written, the GEMMs' stores copy each phase into a plane of an image buffer,
// then each channel's phases are interleaved into one contiguous plane, and that
// plane is written, masked (kernels.STESetF32) or added to ste.acc and masked
// (kernels.SumF32, then STESetF32) by the vector kernels, instead of per pixel.
func (c *convCore) inputGradPhased(p *phaseGrad, w, dy, dx []float32, set bool, ste *steStore, threads int) {
	g := &c.g
	var pa [][]*kernels.PackedA
	pa, c.phaseWT = p.pack(g, w, c.phaseWT)
	hw := g.h * g.w
	planeN := p.rows * p.cols
	nph := len(p.phases)
	_, _, workers, inner := c.splitImages(1, threads)
	runChunks(g.n, workers, func(wk, n int) {
		sc := &c.scratch[wk]
		fresh := sc.phaseOf != p || len(sc.phasePad) != p.size
		sc.phasePad = grow(sc.phasePad, p.size)
		sc.phaseOf = p
		dyp := sc.phasePad
		p.fill(g, dy[n*g.oc*g.p:(n+1)*g.oc*g.p], dyp, fresh)
		mode, lo, hi := phaseAdd, float32(0), float32(0)
		var dxn, sxn, axn []float32
		switch {
		case ste != nil:
			mode, lo, hi = phaseSTE, ste.lo, ste.hi
			dxn, sxn = ste.dx[n*g.c*hw:(n+1)*g.c*hw], ste.x[n*g.c*hw:(n+1)*g.c*hw]
			if ste.acc != nil {
				mode, axn = phaseSTEAcc, ste.acc[n*g.c*hw:(n+1)*g.c*hw]
			}
		case set:
			mode = phaseSet
			dxn = dx[n*g.c*hw : (n+1)*g.c*hw]
		default:
			dxn = dx[n*g.c*hw : (n+1)*g.c*hw]
		}
		var planes []float32
		if mode != phaseAdd {
			sc.phaseOut = grow(sc.phaseOut, g.c*nph*planeN+hw)
			planes = sc.phaseOut
		}
		for pi := range p.phases {
			ph := &p.phases[pi]
			// the phase's input pixels: plane rows [r0, r1), columns [c0, c1)
			r0, r1 := phaseSpan(g.sh, ph.a, g.pt, g.h, p.rows)
			c0, c1 := phaseSpan(g.sw, ph.b, g.pl, g.w, p.cols)
			if r0 >= r1 || c0 >= c1 || pa[pi] == nil {
				// no pixels, or no tap reads them: their gradient is +0
				// (nothing to add; written by interleave)
				continue
			}
			for gi := 0; gi < g.group; gi++ {
				kernels.SgemmShifted(pa[pi][gi], dyp[gi*g.ocg*p.pd:], ph.off, p.q, false, 0, 0, inner, func(cb []float32, ldc, cr0, cr1, j0, nc int) {
					// the block holds columns [j0, j0+nc), numbered over the
					// padded width: plane rows [jr0, jr1)
					jr0, jr1 := j0/p.wd, (j0+nc-1)/p.wd+1
					for r := cr0; r < cr1; r++ {
						ci := gi*g.cg + r
						src := cb[(r-cr0)*ldc:][:nc]
						for R := max(jr0, r0); R < min(jr1, r1); R++ {
							// the block's columns of plane row R that hold pixels
							qa, qb := max(c0, j0-R*p.wd), min(c1, j0+nc-R*p.wd)
							if qa >= qb {
								continue
							}
							v := src[R*p.wd-j0+qa : R*p.wd-j0+qb]
							if planes != nil {
								copy(planes[(ci*nph+pi)*planeN+R*p.cols+qa:], v)
							} else {
								p.addPhase(g, ph, v, dxn[ci*hw:(ci+1)*hw], R, qa)
							}
						}
					}
				})
			}
		}
		if planes == nil {
			return
		}
		plane := planes[g.c*nph*planeN:][:hw]
		for ci := 0; ci < g.c; ci++ {
			p.interleave(g, pa, planes[ci*nph*planeN:(ci+1)*nph*planeN], plane)
			d := dxn[ci*hw : (ci+1)*hw]
			switch mode {
			case phaseSet:
				// the GEMM's sums start from +0 and are never -0: a copy is
				// the bits of adding to a cleared dx
				copy(d, plane)
			case phaseSTE:
				kernels.STESetF32(sxn[ci*hw:(ci+1)*hw], plane, d, lo, hi)
			case phaseSTEAcc:
				// acc + 0 where no tap reaches gives the bits of acc after
				// the mask's + 0
				kernels.SumF32(plane, axn[ci*hw:(ci+1)*hw], plane)
				kernels.STESetF32(sxn[ci*hw:(ci+1)*hw], plane, d, lo, hi)
			}
		}
	})
}

// phaseMode is how a phase's values reach dx: added, written, written masked by
// a fake quantization's straight-through estimator (kernels.STESetF32's
// arithmetic), or added to an accumulated gradient and the sum written masked
// (kernels.RowsSTEAccSetF32's).
type phaseMode int

const (
	phaseAdd phaseMode = iota
	phaseSet
	phaseSTE
	phaseSTEAcc
)

// addPhase adds the values v of plane row R, columns [qa, qa+len(v)) of phase
// ph to the channel plane d of dx.
func (p *phaseGrad) addPhase(g *convGeom, ph *gradPhase, v, d []float32, R, qa int) {
	y := R*g.sh + ph.a - g.pt
	row := d[y*g.w : (y+1)*g.w]
	x := qa*g.sw + ph.b - g.pl
	for _, e := range v {
		row[x] += e
		x += g.sw
	}
}

// interleave writes one channel's input gradient, laid out as its phase planes in
// planes (phase pi's plane row R at (pi·rows + R)·cols; a phase without taps is
// +0), to the H×W plane out: pixel (y, x) is column (x+pl)/sw of row (y+pt)/sh of
// phase ((y+pt) mod sh, (x+pl) mod sw).
func (p *phaseGrad) interleave(g *convGeom, pa [][]*kernels.PackedA, planes, out []float32) {
	planeN := p.rows * p.cols
	for y := 0; y < g.h; y++ {
		a, R := (y+g.pt)%g.sh, (y+g.pt)/g.sh
		row := out[y*g.w : (y+1)*g.w]
		for b := 0; b < g.sw; b++ {
			pi := a*g.sw + b
			// the first column of phase b: x ≡ b - pl (mod sw)
			x0 := ((b-g.pl)%g.sw + g.sw) % g.sw
			if pa[pi] == nil {
				for x := x0; x < g.w; x += g.sw {
					row[x] = 0
				}
				continue
			}
			src := planes[pi*planeN+R*p.cols:][:p.cols]
			Q := (x0 + g.pl - b) / g.sw
			for x := x0; x < g.w; x += g.sw {
				row[x] = src[Q]
				Q++
			}
		}
	}
}
