//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set amx -out ../asm_amx_amd64.s -stubs ../stubs_amx_amd64.go -pkg kernels"

import "sync"

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

var amxKernels = [2][2]func(cfg *byte, a *int8, lda int, b *int8, pstride int, kb int, nseg int, sstride int, bias *int32, c *int32, ldc int, ngroups int){
	{amxGemm_1x1, amxGemm_1x2},
	{amxGemm_2x1, amxGemm_2x2},
}

// amxBlock computes rows rows (≤ 32) of A·W + bias for panels [p0, p1) into
// c (row stride ldc int32, column 0 = panel p0). A row r, segment s starts at
// a[s·sstride + r·lda]; each segment is kb blocks of 64 k.
func amxBlock(a []int8, lda, kb, nseg, sstride int, w *QGemmWeights, bias []int32, p0, p1, rows int, c []int32, ldc int) {
	r1 := max(rows-16, 0)
	mt := 1
	if r1 > 0 {
		mt = 2
	}
	_ = a[(nseg-1)*sstride+(rows-1)*lda+kb*64-1]
	_ = w.data[p1*qPanel*w.kp-1]
	_ = bias[p1*qPanel-1]
	_ = c[(rows-1)*ldc+(p1-p0)*qPanel-1]
	cfg := newAMXCfg(min(rows, 16), r1)
	pstride := qPanel * w.kp
	if pairs := (p1 - p0) / 2; pairs > 0 {
		amxKernels[mt-1][1](&cfg[0], &a[0], lda, &w.data[p0*pstride], pstride, kb, nseg, sstride, &bias[p0*qPanel], &c[0], ldc*4, pairs)
	}
	if (p1-p0)%2 != 0 {
		p := p1 - 1
		amxKernels[mt-1][0](&cfg[0], &a[0], lda, &w.data[p*pstride], pstride, kb, nseg, sstride, &bias[p*qPanel], &c[(p-p0)*qPanel], ldc*4, 1)
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
	blocks := (m + amxRowBlock - 1) / amxRowBlock
	chunks := (w.panels*qPanel + amxColChunk - 1) / amxColChunk
	if threads > 1 && blocks < 2*threads && chunks >= 2*threads {
		// few rows: split the columns
		per := (w.panels + chunks - 1) / chunks // panels per column chunk
		parallelFor(chunks, 1, threads, func(c0, c1 int) {
			amxRange(0, m, c0*per, min(c1*per, w.panels), a, w, o)
		})
		return
	}
	chunk := max(1, (blocks+4*threads-1)/(4*threads)) * amxRowBlock
	parallelChunks(m, chunk, threads, func(next func() (int, int, bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			amxRange(lo, hi, 0, w.panels, a, w, o)
		}
	})
}

// amxRange computes rows [lo, hi) and panels [p0, p1) of the GEMM.
func amxRange(lo, hi, p0, p1 int, a qA, w *QGemmWeights, o *qOut) {
	if hi <= lo || p1 <= p0 {
		return
	}
	kp := w.kp
	sp := amxScratch.Get().(*[amxRowBlock * amxColChunk]int32)
	defer amxScratch.Put(sp)
	var abuf []int8
	if a.direct == nil {
		bp := getABuf(amxRowBlock * kp)
		defer abufPool.Put(bp)
		abuf = *bp
	}
	const chunkPanels = amxColChunk / qPanel
	for r := lo; r < hi; r += amxRowBlock {
		rows := min(amxRowBlock, hi-r)
		ab, lda := abuf, kp
		if a.direct != nil {
			ab, lda = a.direct[r*a.lda:], a.lda
		} else {
			a.src(abuf, r, rows, kp)
		}
		for p := p0; p < p1; p += chunkPanels {
			pe := min(p+chunkPanels, p1)
			amxBlock(ab, lda, kp/64, 1, 0, w, w.bias, p, pe, rows, sp[:], amxColChunk)
			col := p * qPanel
			o.storeN(sp[:], amxColChunk, r, rows, col, min(pe*qPanel, w.n)-col)
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
