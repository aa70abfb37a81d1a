package kernels

import (
	"fmt"
	"math"
)

// The dense packed-weight GEMM of transformer Linear layers (thirteenth
// session): C = act(bias + A·B + res) with A an m×k row-major matrix read in
// place (the tokens), B a constant k×n matrix packed once. SgemmRowsAct
// computes the same product with identity offsets, but its 6x64 tile reads
// 256 bytes of B per step from a weight panel of 64 columns by up to 512
// steps (128 KB: L2, not L1), and its A block budget (256 KB, set for the
// 512 KB L2 of the earlier AMD machine) split 197 tokens in two row blocks,
// so every weight was read from memory twice. Here the tile is 12x32 (A
// broadcast inside the FMA, two vectors of B per step: half the B bytes per
// FMA), a panel block of denseKC steps (32 KB) stays in L1 while every row
// tile of the block runs over it, B is stored block by block so the panels of
// one reduction block are contiguous (and the tile prefetches the next one),
// and the rows of A form one block up to denseRowsBudget.

const (
	// denseNR is the panel width: two zmm.
	denseNR = 32
	// denseMR is the rows of a full tile.
	denseMR = 12
	// denseKC is the reduction block: a 32-wide panel block of 256 steps is
	// 32 KB, L1 with the 12 KB of a tile's A rows beside it (measured best of
	// 128, 192, 256, 384 on ViT-B/16's shapes, BenchmarkSgemmTokens).
	denseKC = 256
	// denseTilesPerCall bounds one assembly call: 16 tiles of 256 steps are
	// about 40 µs, short enough to keep the goroutine preemptible.
	denseTilesPerCall = 16
	// denseRowsBudget (bytes) bounds the A rows of one row block for one
	// reduction block; the weights are streamed once per row block.
	denseRowsBudget = 512 << 10
	// denseCBudget (bytes) bounds the C block of one work item, which every
	// reduction block reads and writes again and the activation finishes
	// while it is in L2.
	denseCBudget = 512 << 10
)

// DenseB is the constant right operand (k×n) of SgemmDense, packed once.
// Where the 12x32 tiles run (AVX-512 with full-width units) it holds panels
// of 32 columns, reduction block by reduction block: block kb of panel p is
// [kc][32] at (pc·panels + p·kc)·32, pc the block's first step, zero-padded
// past n. Elsewhere it holds the RowsB of SgemmRowsAct, which runs the
// product with identity offsets.
type DenseB struct {
	k, n   int
	panels int
	nkb    int
	data   []float32
	rows   *RowsB
	ident  []int32
}

// K returns the inner dimension.
func (p *DenseB) K() int { return p.k }

// N returns the number of columns.
func (p *DenseB) N() int { return p.n }

// PackDenseB packs b (k×n, row stride ldb) for SgemmDense on this CPU. rows
// is the number of rows A will have when the caller knows it (0 when not): a
// one-row product (a classifier head) keeps SgemmRowsAct's 64-wide panels,
// whose one-row kernels stream the weights at 1.3-1.5x the speed of the
// 32-wide blocks' (BenchmarkSgemmTokens, 2048 → 1000).
func PackDenseB(k, n int, b []float32, ldb int, rows int) *DenseB {
	if n <= 0 || k < 0 || k > 0 && (ldb < n || len(b) < (k-1)*ldb+n) {
		panic(fmt.Sprintf("kernels.PackDenseB: bad shape %d×%d (ldb=%d, len=%d)", k, n, ldb, len(b)))
	}
	if !denseTilesOK() || rows == 1 {
		p := &DenseB{k: k, n: n, rows: PackRowsB(k, n, b, ldb), ident: make([]int32, k)}
		for i := range p.ident {
			p.ident[i] = int32(i)
		}
		return p
	}
	return packDenseB(k, n, b, ldb)
}

// packDenseB packs b in the 32-wide block layout whatever the CPU.
func packDenseB(k, n int, b []float32, ldb int) *DenseB {
	panels := (n + denseNR - 1) / denseNR
	nkb := max(1, (k+denseKC-1)/denseKC)
	p := &DenseB{k: k, n: n, panels: panels, nkb: nkb, data: make([]float32, panels*denseNR*k)}
	for kb := 0; kb < nkb; kb++ {
		pc, pe := p.block(kb)
		for q := 0; q < panels; q++ {
			col := q * denseNR
			w := min(denseNR, n-col)
			dst := p.data[(pc*panels+q*(pe-pc))*denseNR:]
			for r := pc; r < pe; r++ {
				copy(dst[(r-pc)*denseNR:(r-pc)*denseNR+w], b[r*ldb+col:r*ldb+col+w])
			}
		}
	}
	return p
}

// block returns the reduction steps [pc, pe) of block kb: the k steps split
// evenly (768 = 3·256, 3072 = 12·256; 1000 = 4·250 rather than 3·256 + 232).
func (p *DenseB) block(kb int) (int, int) {
	return p.k * kb / p.nkb, p.k * (kb + 1) / p.nkb
}

// panel returns block kb of panel q.
func (p *DenseB) panel(kb, q int) []float32 {
	pc, pe := p.block(kb)
	o := (pc*p.panels + q*(pe-pc)) * denseNR
	return p.data[o : o+(pe-pc)*denseNR]
}

// SgemmDense computes, for i < m and j < n = pb.N(), C[i*ldc+j] =
// act(bias[j] + Σ_p A[i*lda+p]·B[p][j] + res[i*ldc+j]), bias and res optional
// (nil), act applied to each block of C as soon as it is final. A is m×k
// (k = pb.K()) with row stride lda.
func SgemmDense(pb *DenseB, a []float32, lda, m int, bias, c []float32, ldc int, res []float32, act Act, threads int) {
	n, k := pb.n, pb.k
	if m <= 0 {
		return
	}
	if k > 0 {
		checkMatrix("kernels.SgemmDense", "A", false, m, k, a, lda)
	}
	checkMatrix("kernels.SgemmDense", "C", false, m, n, c, ldc)
	if bias != nil && len(bias) < n || res != nil && len(res) < (m-1)*ldc+n {
		panic(fmt.Sprintf("kernels.SgemmDense: bias (%d) or residual (%d) too short for %d×%d", len(bias), len(res), m, n))
	}
	threads = resolveThreads(threads)
	if pb.rows != nil {
		SgemmRowsAct(pb.rows, a, lda, pb.ident, m, bias, c, ldc, res, false, 0, 0, act, threads)
		return
	}
	runDense(pb, a, lda, m, bias, c, ldc, res, act, threads)
}

// runDense is SgemmDense on the 32-wide block layout, arguments checked.
func runDense(pb *DenseB, a []float32, lda, m int, bias, c []float32, ldc int, res []float32, act Act, threads int) {
	n, k := pb.n, pb.k
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if bias != nil {
				copy(row, bias[:n])
			} else {
				clear(row)
			}
			if res != nil {
				for j, v := range res[i*ldc : i*ldc+n] {
					row[j] += v
				}
			}
			if act != ActNone {
				ActF32(act, row, row)
			}
		}
		return
	}
	if m == 1 {
		// One token (a classifier head, a decoder step): the panels split
		// over the threads, each reading its weights once.
		parallelFor(pb.panels, 1, threads, func(p0, p1 int) {
			if denseTilesOK() {
				denseGemv(pb, a[:k], p0, p1, bias, c, res, act)
				return
			}
			denseItem(pb, a, lda, 0, 1, p0, p1, bias, c, ldc, res, act)
		})
		return
	}
	rb, ci := denseSplit(m, pb.panels, threads)
	tiles := (m + denseMR - 1) / denseMR
	parallelChunks(rb*ci, 1, threads, func(next func() (int, int, bool)) {
		for it, _, ok := next(); ok; it, _, ok = next() {
			ri, qi := it/ci, it%ci
			r0 := tiles * ri / rb * denseMR
			r1 := min(m, tiles*(ri+1)/rb*denseMR)
			denseItem(pb, a, lda, r0, r1, pb.panels*qi/ci, pb.panels*(qi+1)/ci, bias, c, ldc, res, act)
		}
	})
}

// denseSplit returns the row blocks and column blocks of an m-row product on
// panels panels: row blocks whose A rows of one reduction block fit
// denseRowsBudget, column blocks whose C block fits denseCBudget, and on more
// than one thread at least two items per thread (a thread that starts late
// still gets a share), column blocks a multiple of the thread count while
// the rows are too few to share.
func denseSplit(m, panels, threads int) (rb, ci int) {
	tiles := (m + denseMR - 1) / denseMR
	perBlock := max(1, denseRowsBudget/(4*denseMR*denseKC))
	rb = (tiles + perBlock - 1) / perBlock
	rows := (tiles + rb - 1) / rb * denseMR
	perItem := max(1, denseCBudget/(4*denseNR*rows))
	ci = (panels + perItem - 1) / perItem
	if threads > 1 && rb*ci < 2*threads {
		ci = max(ci, (2*threads+rb-1)/rb)
		ci = (ci + threads - 1) / threads * threads
	}
	return rb, min(ci, panels)
}

// denseItem computes rows [r0, r1) and panels [p0, p1) of C: for each
// reduction block, each panel block (L1) runs under every row tile (A rows
// in L2), twelve rows at a time, the last tile with the rows left.
func denseItem(pb *DenseB, a []float32, lda, r0, r1, p0, p1 int, bias, c []float32, ldc int, res []float32, act Act) {
	n := pb.n
	full := (r1 - r0) / denseMR
	rest := (r1 - r0) % denseMR
	for kb := 0; kb < pb.nkb; kb++ {
		pc, pe := pb.block(kb)
		accum, last := kb > 0, kb == pb.nkb-1
		for q := p0; q < p1; q++ {
			panel := pb.panel(kb, q)
			var pf []float32
			switch {
			case q+1 < p1:
				pf = pb.panel(kb, q+1)
			case !last:
				pf = pb.panel(kb+1, p0)
			}
			col := q * denseNR
			w := min(denseNR, n-col)
			var bq []float32
			if bias != nil && !accum {
				bq = bias[col : col+w]
			}
			for t := 0; t < full; t += denseTilesPerCall {
				nt := min(denseTilesPerCall, full-t)
				i := r0 + t*denseMR
				var rq []float32
				if last && res != nil {
					rq = res[i*ldc+col:]
				}
				denseTiles(denseMR, nt, pe-pc, a[i*lda+pc:], lda, panel, bq, c[i*ldc+col:], ldc, accum, rq, w, pf)
				pf = nil
			}
			if rest > 0 {
				i := r0 + full*denseMR
				var rq []float32
				if last && res != nil {
					rq = res[i*ldc+col:]
				}
				denseTiles(rest, 1, pe-pc, a[i*lda+pc:], lda, panel, bq, c[i*ldc+col:], ldc, accum, rq, w, pf)
			}
		}
	}
	if act == ActNone {
		return
	}
	c0, c1 := p0*denseNR, min(p1*denseNR, n)
	if c0 == 0 && c1 == ldc {
		blk := c[r0*ldc : r1*ldc]
		ActF32(act, blk, blk)
		return
	}
	for i := r0; i < r1; i++ {
		row := c[i*ldc+c0 : i*ldc+c1]
		ActF32(act, row, row)
	}
}

// denseGemv computes panels [p0, p1) of a one-row product with the
// one-row kernels of SgemmRows (sgemvPanel: four accumulators per 16
// columns, where the 1x32 tile has two and waited on their latency; it
// measured 0.5-0.9x the rows path on a classifier head of 2048 → 1000),
// block after block of the reduction, each starting from the last's sums.
func denseGemv(pb *DenseB, a []float32, p0, p1 int, bias, c, res []float32, act Act) {
	n := pb.n
	for q := p0; q < p1; q++ {
		var init, out [rowsWideNR]float32
		col := q * denseNR
		w := min(denseNR, n-col)
		if bias != nil {
			copy(init[:w], bias[col:col+w])
		}
		for kb := 0; kb < pb.nkb; kb++ {
			pc, pe := pb.block(kb)
			sgemvPanel(denseNR, pe-pc, a[pc:pe], pb.panel(kb, q), &init, &out)
			init = out
		}
		dst := c[col : col+w]
		copy(dst, out[:w])
		if res != nil {
			for j, r := range res[col : col+w] {
				dst[j] += r
			}
		}
		if act != ActNone {
			ActF32(act, dst, dst)
		}
	}
}

// denseTilesGo is the pure-Go form of the mr×32 tiles (the same order:
// C or the bias, the sum over p, then the residual), w columns of 32.
func denseTilesGo(mr, ntiles, k int, a []float32, lda int, b, bias, c []float32, ldc int, accum bool, res []float32, w int) {
	for t := 0; t < ntiles; t++ {
		for r := 0; r < mr; r++ {
			i := t*mr + r
			var acc [denseNR]float32
			row := c[i*ldc : i*ldc+w]
			switch {
			case accum:
				copy(acc[:w], row)
			case bias != nil:
				copy(acc[:w], bias[:w])
			}
			ar := a[i*lda : i*lda+k]
			for p, av := range ar {
				bp := b[p*denseNR : p*denseNR+w]
				for j, bv := range bp {
					acc[j] = float32(math.FMA(float64(av), float64(bv), float64(acc[j])))
				}
			}
			if res != nil {
				for j, v := range res[i*ldc : i*ldc+w] {
					acc[j] += v
				}
			}
			copy(row, acc[:w])
		}
	}
}
