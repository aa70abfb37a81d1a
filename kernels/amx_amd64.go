//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set amx -out ../asm_amx_amd64.s -stubs ../stubs_amx_amd64.go -pkg kernels"

import (
	"fmt"
	"sync"
	"unsafe"
)

// The AMX int8 GEMM (kernels/_gen/gen_amx.go): 16×64 int8 tiles multiplied
// by TDPBSSD into 16×16 int32 accumulators, 2×2 accumulator tiles (32 rows
// by 32 columns) per kernel block. B is the packed panel layout of
// QGemmWeights as it is: 16 rows of 64 bytes of one panel (4 k of 16 columns
// each) are one B tile. The accumulators go to a scratch block and through
// the requantization of the other paths (rqParams.tile).

// amxRowBlock is the number of rows (output pixels) of one kernel block.
const amxRowBlock = 32

// amxColChunk is the number of columns one kernel call covers (scratch of
// 32×256 int32 = 32 KiB, requantized while it is in L1).
const amxColChunk = 256

var (
	amxPermOnce sync.Once
	amxPermOK   bool
)

// amxPermitted asks Linux once per process for the AMX tile data state
// (arch_prctl ARCH_REQ_XCOMP_PERM); without it the first tile instruction
// faults.
func amxPermitted() bool {
	amxPermOnce.Do(func() { amxPermOK = requestAMXPerm() })
	return amxPermOK
}

// amxCfg is a palette-1 tile configuration (64 bytes: palette, start row,
// 14 reserved, 16 × colsb uint16, 16 × rows uint8).
type amxCfg [64]byte

func (c *amxCfg) set(t, rows, colsb int) {
	c[16+2*t] = byte(colsb)
	c[17+2*t] = byte(colsb >> 8)
	c[48+t] = byte(rows)
}

// newAMXCfg configures the tiles of amxGemm for r0 rows in the first row tile
// and r1 (0: none) in the second.
func newAMXCfg(r0, r1 int) *amxCfg {
	c := &amxCfg{0: 1}
	for _, t := range []int{0, 1, 4} {
		c.set(t, r0, 64)
	}
	if r1 > 0 {
		for _, t := range []int{2, 3, 5} {
			c.set(t, r1, 64)
		}
	}
	c.set(6, 16, 64)
	c.set(7, 16, 64)
	return c
}

type amxFunc func(cfg *byte, a *int8, lda int, b *int8, pstride int, kb int, nseg int, sstride int, bias *int32, c *int32, ldc int, ngroups int)

type amxQFunc func(cfg *byte, a *int8, lda int, b *int8, pstride int, kb int, nseg int, sstride int, bias *int32, c *int32, ldc int, ngroups int, ep *int64)

// amxKernels[mt-1][nt-1] computes mt row tiles by nt column tiles per group.
var amxKernels = [2][2]amxFunc{
	{amxGemm_1x1, amxGemm_1x2},
	{amxGemm_2x1, amxGemm_2x2},
}

var amxQKernels = [2][2]amxQFunc{
	{amxGemmQ_1x1, amxGemmQ_1x2},
	{amxGemmQ_2x1, amxGemmQ_2x2},
}

// amxEpi is the epilogue descriptor of the fused kernels (offsets fixed: see
// amxEp* in kernels/_gen/gen_amx.go and TestAMXEpiLayout). The kernels move
// col and ncols from group to group; the pointers stay put, inside their
// objects, as the garbage collector requires of what it scans.
type amxEpi struct {
	out    *int8    // output column 0 (of the first group: col 0)
	scale  *float32 // scale of that column
	rowoff *int64   // per row: output offset from out, < 0 to skip the row
	rows   int64
	ncols  int64 // output columns from out + col on
	zp     int32
	lo, hi float32 // float32(Min - zp), float32(Max - zp)
	col    int64   // the current group's first column, from out and scale
}

// amxGEMM is one GEMM for the AMX kernels: m rows of A (row i of segment s
// at a[i·lda + s·sstride], nseg segments of kb·64 values), or, when a is
// nil, rows packed by src (one segment of kp values). Output row of GEMM row
// i (in units of o.ldo): i, or with wrap > 0 (the padded rows of an implicit
// convolution) row0 + (i/wrap)·ow + i%wrap when i%wrap < ow, none otherwise.
type amxGEMM struct {
	m                  int
	a                  []int8
	lda, nseg, sstride int
	src                qSource
	wrap, ow, row0     int
}

// outRows sets out[j] to the output row of GEMM row r+j (-1: none).
func (g *amxGEMM) outRows(out []int, r int) {
	if g.wrap == 0 {
		for j := range out {
			out[j] = r + j
		}
		return
	}
	y, x := r/g.wrap, r%g.wrap
	for j := range out {
		out[j] = -1
		if x < g.ow {
			out[j] = g.row0 + y*g.ow + x
		}
		if x++; x == g.wrap {
			x, y = 0, y+1
		}
	}
}

// amxBlock computes rows rows (≤ 32) of A·W + bias for panels [p0, p1) into
// c (row stride ldc int32, column 0 = panel p0), or, with ep, requantizes
// them as ep says (c is then 32 rows of scratch for one group). A row r,
// segment s starts at a[s·sstride + r·lda]; each segment is kb blocks of 64 k.
func amxBlock(a []int8, lda, kb, nseg, sstride int, wd []int8, kpw int, bias []int32, p0, p1, rows int, c []int32, ldc int, ep *amxEpi) {
	if kb < 1 || nseg < 1 {
		panic(fmt.Sprintf("kernels: AMX block with %d segments of %d 64-byte blocks", nseg, kb))
	}
	r1 := max(rows-16, 0)
	mt := 1
	if r1 > 0 {
		mt = 2
	}
	_ = a[(nseg-1)*sstride+(rows-1)*lda+kb*64-1]
	_ = wd[p1*qPanel*kpw-1]
	_ = bias[p1*qPanel-1]
	if ep == nil {
		_ = c[(rows-1)*ldc+(p1-p0)*qPanel-1]
	} else {
		_ = c[(rows-1)*ldc+2*qPanel-1]
	}
	cfg := newAMXCfg(min(rows, 16), r1)
	pstride := qPanel * kpw
	call := func(nt, p, groups int, c []int32) {
		if ep != nil {
			amxQKernels[mt-1][nt-1](&cfg[0], &a[0], lda, &wd[p*pstride], pstride, kb, nseg, sstride, &bias[p*qPanel], &c[0], ldc*4, groups, (*int64)(unsafe.Pointer(ep)))
			return
		}
		amxKernels[mt-1][nt-1](&cfg[0], &a[0], lda, &wd[p*pstride], pstride, kb, nseg, sstride, &bias[p*qPanel], &c[0], ldc*4, groups)
	}
	if pairs := (p1 - p0) / 2; pairs > 0 {
		call(2, p0, pairs, c)
	}
	if (p1-p0)%2 != 0 {
		p := p1 - 1
		if ep == nil {
			c = c[(p-p0)*qPanel:]
		}
		call(1, p, 1, c)
	}
}

// amxFits reports whether the AMX path takes a GEMM of m rows on w: K
// (padded to 4) a multiple of 64, or at least amxMinK (then padded to 64
// with zero weights).
func amxFits(m int, w *QGemmWeights) bool {
	return amxOK && m >= amxMinRows && (w.kp%64 == 0 || w.kp >= amxMinK)
}

// amxData returns the packed weights with K padded to a multiple of 64 (the
// B tiles are 64-k blocks) and that K: the weights themselves when kp is
// one, else a copy with zero rows appended to each panel, made once.
func (w *QGemmWeights) amxData() ([]int8, int) {
	if w.kp%64 == 0 {
		return w.data, w.kp
	}
	kp64 := (w.kp + 63) &^ 63
	w.amxOnce.Do(func() {
		d := make([]int8, w.panels*qPanel*kp64)
		for p := 0; p < w.panels; p++ {
			copy(d[p*qPanel*kp64:], w.data[p*qPanel*w.kp:(p+1)*qPanel*w.kp])
		}
		w.data64 = d
	})
	return w.data64, kp64
}

// amxMinRows is the fewest rows the AMX path takes: below one tile of 16,
// TDPBSSD does the work of 16 rows anyway.
const amxMinRows = 16

// amxMinK is the smallest K (padded to 4) that is not a multiple of 64 the
// AMX path takes, padding it to 64 with zero weights. Measured with QGemm at
// one thread (float requantization): K = 16 and 24 run 1.2-1.4x slower on
// AMX than on VNNI, K = 32 1.2x faster, 144 1.45x, 160 2.5x.
const amxMinK = 32

var amxScratch = sync.Pool{New: func() any { return new([amxRowBlock * amxColChunk]int32) }}

// qgemmAMX computes rows [0, m) of A·W with the AMX kernels, like qgemmRun.
func qgemmAMX(m int, a qA, w *QGemmWeights, o *qOut, threads int) {
	g := &amxGEMM{m: m, a: a.direct, lda: a.lda, nseg: 1, src: a.src}
	amxRun(g, w, o, threads)
}

// amxBBudget bounds the weight bytes (16·kp per panel) one pass over a row
// range keeps hot: half of this core's 2 MiB L2, the rest for A and the
// output.
const amxBBudget = 1 << 20

// amxPackRows bounds the rows of A one packed (im2col) range holds.
const amxPackRows = 512

// amxRun runs the GEMM g on threads goroutines: ranges of whole 32-row
// blocks, or, when the rows are few (or the weights too big for one core's
// L2 and the rows not many), ranges of panel pairs, so that each core
// streams only its part of the weights.
func amxRun(g *amxGEMM, w *QGemmWeights, o *qOut, threads int) {
	blocks := (g.m + amxRowBlock - 1) / amxRowBlock
	pairs := (w.panels + 1) / 2
	bigB := w.panels*qPanel*w.kp > amxBBudget
	if threads > 1 && pairs >= 2*threads && (blocks < 2*threads || bigB && blocks < 8*threads) {
		parallelFor(pairs, 1, threads, func(q0, q1 int) {
			amxRange(g, 0, g.m, 2*q0, min(2*q1, w.panels), w, o)
		})
		return
	}
	chunk := max(1, (blocks+4*threads-1)/(4*threads)) * amxRowBlock
	if g.a == nil {
		chunk = min(chunk, amxPackRows)
	}
	parallelChunks(g.m, chunk, threads, func(next func() (int, int, bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			amxRange(g, lo, hi, 0, w.panels, w, o)
		}
	})
}

// amxRange computes rows [lo, hi) and panels [p0, p1) of g: for each run of
// panels whose weights fit amxBBudget, every 32-row block of the range (the
// weights are read from memory once per range, the rows of A from L2).
func amxRange(g *amxGEMM, lo, hi, p0, p1 int, w *QGemmWeights, o *qOut) {
	if hi <= lo || p1 <= p0 {
		return
	}
	wd, kp := w.amxData()
	sp := amxScratch.Get().(*[amxRowBlock * amxColChunk]int32)
	defer amxScratch.Put(sp)
	a, lda, kb, nseg, sstride := g.a, g.lda, kp/64/g.nseg, g.nseg, g.sstride
	if a == nil {
		// pack the range's rows once for all the panel runs
		if hi-lo > amxPackRows {
			for r := lo; r < hi; r += amxPackRows {
				amxRange(g, r, min(r+amxPackRows, hi), p0, p1, w, o)
			}
			return
		}
		bp := getABuf((hi - lo) * kp)
		defer abufPool.Put(bp)
		g.src(*bp, lo, hi-lo, kp)
		a, lda, kb, nseg, sstride = *bp, kp, kp/64, 1, 0
	} else {
		a = a[lo*lda:]
	}
	fused := o.out8 != nil && o.rq.mode == RequantFloat
	var ep amxEpi
	var rowoff [amxRowBlock]int64
	var outRow [amxRowBlock]int
	if fused {
		ep.rowoff = &rowoff[0]
		ep.zp, ep.lo, ep.hi = o.rq.zp, float32(o.rq.lo-o.rq.zp), float32(o.rq.hi-o.rq.zp)
	}
	run := max(2, amxBBudget/(qPanel*kp)&^1) // panels per run
	for pr := p0; pr < p1; pr += run {
		pe := min(pr+run, p1)
		for r := lo; r < hi; r += amxRowBlock {
			rows := min(amxRowBlock, hi-r)
			ab, ldb := a[(r-lo)*lda:], lda
			if g.a != nil && kp != w.kp && (r+rows-1)*lda+kp > len(g.a) {
				// K padded to 64 reads past the end of A on the last rows
				// (elsewhere into the next row, against zero weights): copy
				// them with zeros after K.
				tp := getABuf(rows * kp)
				defer abufPool.Put(tp)
				copySource(g.a, lda, w.k)(*tp, r, rows, kp)
				ab, ldb = *tp, kp
			}
			g.outRows(outRow[:rows], r)
			for i := 0; i < rows; i++ {
				rowoff[i] = -1
				if outRow[i] >= 0 {
					rowoff[i] = int64(outRow[i]*o.ldo + o.col0)
				}
			}
			if fused {
				col := pr * qPanel
				ep.out = &o.out8[col]
				ep.scale = &o.rq.scale[o.col0+col]
				ep.rows = int64(rows)
				ep.ncols = int64(min(pe*qPanel, w.n) - col)
				ep.col = 0
				amxBlock(ab, ldb, kb, nseg, sstride, wd, kp, w.bias, pr, pe, rows, sp[:], 2*qPanel, &ep)
				continue
			}
			for p := pr; p < pe; p += amxColChunk / qPanel {
				pc := min(p+amxColChunk/qPanel, pe)
				amxBlock(ab, ldb, kb, nseg, sstride, wd, kp, w.bias, p, pc, rows, sp[:], amxColChunk, nil)
				col := p * qPanel
				ncols := min(pc*qPanel, w.n) - col
				if g.wrap == 0 {
					o.storeN(sp[:], amxColChunk, r, rows, col, ncols)
					continue
				}
				for i := 0; i < rows; i++ {
					if outRow[i] >= 0 {
						o.storeN(sp[i*amxColChunk:], amxColChunk, outRow[i], 1, col, ncols)
					}
				}
			}
		}
	}
}

// peakAMXRun runs the AMX peak loop (262144 MACs per iteration).
func peakAMXRun(n int) {
	c := &amxCfg{0: 1}
	for t := 0; t < 8; t++ {
		c.set(t, 16, 64)
	}
	peakAMX(&c[0], n)
}

// convAMXRows is the AMX implicit GEMM of a stride-1 convolution (DilW 1,
// KW·C a multiple of 64): on the zero-point-padded input, GEMM row i is the
// padded pixel i of the image, whose kernel row kh is KW·C contiguous bytes
// at pixel i + kh·DilH·Wp, so the A tiles read the padded input in place
// (row stride C, KH segments). Rows whose column is past OutW wrap around
// the padded row and are computed and dropped: (Wp−OutW)/Wp of the work
// (3% at 56 columns, 22% at 7) for no im2col copy.
func convAMXRows(s ConvShape, in []int8, w *QGemmWeights, out []int8, p *rqParams, threads int) {
	pin, hp, wp, release := padInput(s, in, int8(w.inZP), threads)
	defer release()
	amxRowsOn(pin, s.N, hp, wp, s.C, s.KH, s.DilH, s.OutH(), s.OutW(), w, out, s.OC, p, threads)
}

// amxRowsOn runs the implicit GEMM of convAMXRows on the padded input pin
// ([n][hp][wp][c]) for an oh×ow output of oc channels; the kernel has kh rows
// (dilation dilH) and w.K()/(kh·c) columns.
func amxRowsOn(pin []int8, n, hp, wp, c, kh, dilH, oh, ow int, w *QGemmWeights, out []int8, oc int, p *rqParams, threads int) {
	o := &qOut{out8: out, ldo: oc, rq: p}
	img := hp * wp * c
	for b := 0; b < n; b++ {
		g := &amxGEMM{m: (oh-1)*wp + ow, a: pin[b*img : (b+1)*img], lda: c, nseg: kh, sstride: dilH * wp * c,
			wrap: wp, ow: ow, row0: b * oh * ow}
		amxRun(g, w, o, threads)
	}
}

// convAMXS2D runs a stride-2 convolution of at most 4 channels (s2dFits) as
// the stride-1 convolution of its space-to-depth input (conv_s2d.go) on the
// AMX rows path.
func convAMXS2D(s ConvShape, in []int8, w *QGemmWeights, out []int8, p *rqParams, threads int) {
	ps := s
	ps.PadBottom += (s.H + s.PadTop + s.PadBottom) % 2 // even padded sizes: the extra row and column
	ps.PadRight += (s.W + s.PadLeft + s.PadRight) % 2  // meet zero weights or dropped outputs only
	pin, hp, wp, release := padInput(ps, in, int8(w.inZP), threads)
	defer release()
	hs, ws := hp/2, wp/2
	bp := getABuf(s.N * hs * ws * s2dChannels)
	defer abufPool.Put(bp)
	spaceToDepth(*bp, pin, s.N, hs, ws, s.C, threads)
	amxRowsOn(*bp, s.N, hs, ws, s2dChannels, (s.KH+1)/2, 1, s.OutH(), s.OutW(), w, out, s.OC, p, threads)
}
