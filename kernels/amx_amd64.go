//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set amx -out ../asm_amx_amd64.s -stubs ../stubs_amx_amd64.go -pkg kernels"

import (
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
// out, scale and ncols from group to group.
type amxEpi struct {
	out    *int8    // column 0 of the first group
	scale  *float32 // scale of that column
	rowoff *int64   // per row: output offset from out, < 0 to skip the row
	rows   int64
	ncols  int64 // output columns from out on
	zp     int32
	lo, hi float32 // float32(Min - zp), float32(Max - zp)
}

// amxGEMM is one GEMM for the AMX kernels: m rows of A (row i of segment s
// at a[i·lda + s·sstride], nseg segments of kb·64 values), or, when a is
// nil, rows packed by src (one segment of kp values). rowOff gives the
// output row (in units of o.ldo) of GEMM row i, or -1 for a row whose result
// is dropped; nil means row i.
type amxGEMM struct {
	m                  int
	a                  []int8
	lda, nseg, sstride int
	src                qSource
	rowOff             func(i int) int
}

// amxBlock computes rows rows (≤ 32) of A·W + bias for panels [p0, p1) into
// c (row stride ldc int32, column 0 = panel p0), or, with ep, requantizes
// them as ep says (c is then 32 rows of scratch for one group). A row r,
// segment s starts at a[s·sstride + r·lda]; each segment is kb blocks of 64 k.
func amxBlock(a []int8, lda, kb, nseg, sstride int, w *QGemmWeights, bias []int32, p0, p1, rows int, c []int32, ldc int, ep *amxEpi) {
	r1 := max(rows-16, 0)
	mt := 1
	if r1 > 0 {
		mt = 2
	}
	_ = a[(nseg-1)*sstride+(rows-1)*lda+kb*64-1]
	_ = w.data[p1*qPanel*w.kp-1]
	_ = bias[p1*qPanel-1]
	if ep == nil {
		_ = c[(rows-1)*ldc+(p1-p0)*qPanel-1]
	} else {
		_ = c[(rows-1)*ldc+2*qPanel-1]
	}
	cfg := newAMXCfg(min(rows, 16), r1)
	pstride := qPanel * w.kp
	call := func(nt, p, groups int, c []int32) {
		if ep != nil {
			amxQKernels[mt-1][nt-1](&cfg[0], &a[0], lda, &w.data[p*pstride], pstride, kb, nseg, sstride, &bias[p*qPanel], &c[0], ldc*4, groups, (*int64)(unsafe.Pointer(ep)))
			return
		}
		amxKernels[mt-1][nt-1](&cfg[0], &a[0], lda, &w.data[p*pstride], pstride, kb, nseg, sstride, &bias[p*qPanel], &c[0], ldc*4, groups)
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

// amxFits reports whether the AMX path takes a GEMM of m rows on w.
func amxFits(m int, w *QGemmWeights) bool {
	return amxOK && m >= amxMinRows && w.kp%64 == 0
}

// amxMinRows is the fewest rows the AMX path takes: below one tile of 16,
// TDPBSSD does the work of 16 rows anyway.
const amxMinRows = 16

var amxScratch = sync.Pool{New: func() any { return new([amxRowBlock * amxColChunk]int32) }}

// qgemmAMX computes rows [0, m) of A·W with the AMX kernels, like qgemmRun.
func qgemmAMX(m int, a qA, w *QGemmWeights, o *qOut, threads int) {
	g := &amxGEMM{m: m, a: a.direct, lda: a.lda, nseg: 1, src: a.src}
	amxRun(g, w, o, threads)
}

// amxRun runs the GEMM g on threads goroutines: whole 32-row blocks, or,
// with too few of them, column chunks.
func amxRun(g *amxGEMM, w *QGemmWeights, o *qOut, threads int) {
	blocks := (g.m + amxRowBlock - 1) / amxRowBlock
	chunks := (w.panels*qPanel + amxColChunk - 1) / amxColChunk
	if threads > 1 && blocks < 2*threads && chunks >= 2*threads {
		per := (w.panels + chunks - 1) / chunks // panels per column chunk
		parallelFor(chunks, 1, threads, func(c0, c1 int) {
			amxRange(g, 0, g.m, c0*per, min(c1*per, w.panels), w, o)
		})
		return
	}
	chunk := max(1, (blocks+4*threads-1)/(4*threads)) * amxRowBlock
	parallelChunks(g.m, chunk, threads, func(next func() (int, int, bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			amxRange(g, lo, hi, 0, w.panels, w, o)
		}
	})
}

// amxRange computes rows [lo, hi) and panels [p0, p1) of g.
func amxRange(g *amxGEMM, lo, hi, p0, p1 int, w *QGemmWeights, o *qOut) {
	if hi <= lo || p1 <= p0 {
		return
	}
	kp := w.kp
	sp := amxScratch.Get().(*[amxRowBlock * amxColChunk]int32)
	defer amxScratch.Put(sp)
	var abuf []int8
	if g.a == nil {
		bp := getABuf(amxRowBlock * kp)
		defer abufPool.Put(bp)
		abuf = *bp
	}
	fused := o.out8 != nil && o.rq.mode == RequantFloat
	var ep amxEpi
	var rowoff [amxRowBlock]int64
	var outRow [amxRowBlock]int
	if fused {
		ep.rowoff = &rowoff[0]
		ep.zp, ep.lo, ep.hi = o.rq.zp, float32(o.rq.lo-o.rq.zp), float32(o.rq.hi-o.rq.zp)
	}
	const chunkPanels = amxColChunk / qPanel
	for r := lo; r < hi; r += amxRowBlock {
		rows := min(amxRowBlock, hi-r)
		ab, lda, kb, nseg, sstride := abuf, kp, kp/64, 1, 0
		if g.a != nil {
			ab, lda, nseg, sstride = g.a[r*g.lda:], g.lda, g.nseg, g.sstride
			kb = kp / 64 / nseg
		} else {
			g.src(abuf, r, rows, kp)
		}
		for i := 0; i < rows; i++ {
			outRow[i] = r + i
			if g.rowOff != nil {
				outRow[i] = g.rowOff(r + i)
			}
			rowoff[i] = -1
			if outRow[i] >= 0 {
				rowoff[i] = int64(outRow[i]*o.ldo + o.col0)
			}
		}
		if fused {
			col := p0 * qPanel
			ep.out = &o.out8[col]
			ep.scale = &o.rq.scale[o.col0+col]
			ep.rows = int64(rows)
			ep.ncols = int64(w.n - col)
			amxBlock(ab, lda, kb, nseg, sstride, w, w.bias, p0, p1, rows, sp[:], 2*qPanel, &ep)
			continue
		}
		for p := p0; p < p1; p += chunkPanels {
			pe := min(p+chunkPanels, p1)
			amxBlock(ab, lda, kb, nseg, sstride, w, w.bias, p, pe, rows, sp[:], amxColChunk, nil)
			col := p * qPanel
			ncols := min(pe*qPanel, w.n) - col
			if g.rowOff == nil {
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
	oh, ow := s.OutH(), s.OutW()
	pin, hp, wp, release := padInput(s, in, int8(w.inZP), threads)
	defer release()
	o := &qOut{out8: out, ldo: s.OC, rq: p}
	img := hp * wp * s.C
	for n := 0; n < s.N; n++ {
		g := &amxGEMM{m: (oh-1)*wp + ow, a: pin[n*img : (n+1)*img], lda: s.C, nseg: s.KH, sstride: s.DilH * wp * s.C,
			rowOff: func(i int) int {
				if x := i % wp; x < ow {
					return (n*oh+i/wp)*ow + x
				}
				return -1
			}}
		amxRun(g, w, o, threads)
	}
}
