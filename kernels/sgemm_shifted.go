package kernels

import (
	"fmt"
	"math"
)

// The implicit GEMM of a convolution: with the input laid out so that every
// kernel tap is a constant shift of one flat index (a zero-padded copy, split
// into stride phases), row p of the column matrix is X[Off[p] : Off[p]+n], and
// the micro-kernel reads it in place instead of from an im2col copy. The price
// is a few garbage columns (the padding columns of each output row), which the
// caller's store drops.

// ShiftedStore receives finished rows [r0, r1) and columns [j0, j0+nc) of C in
// cb (row stride ldc; cb[0] is element (r0, j0)). It is called concurrently
// from several threads on disjoint blocks, and cb is reused once it returns.
type ShiftedStore func(cb []float32, ldc, r0, r1, j0, nc int)

// SgemmShifted computes C = A·B (plus A's bias, clamped to [lo, hi] when clip)
// for B[p][j] = x[off[p]+j], p < A's K (plus one for the bias row, which must
// point at ones), j < n, and hands C to store block by block. x must hold
// max(off) plus n rounded up to 16 elements: the micro-kernel reads whole
// 16-column panels, and the lanes past n are garbage that store never sees.
func SgemmShifted(pa *PackedA, x []float32, off []int32, n int, clip bool, lo, hi float32, threads int, store ShiftedStore) {
	if n <= 0 {
		return
	}
	if len(off) != pa.kt {
		panic(fmt.Sprintf("kernels.SgemmShifted: %d offsets for %d rows of B", len(off), pa.kt))
	}
	nPad := (n + sgNR - 1) / sgNR * sgNR
	for p, o := range off {
		if o < 0 || int(o)+nPad > len(x) {
			panic(fmt.Sprintf("kernels.SgemmShifted: row %d at offset %d does not fit %d+%d columns in %d elements", p, o, o, nPad, len(x)))
		}
	}
	if !clip {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	threads = resolveThreads(threads)
	m, mPad := pa.m, pa.tiles*sgMR
	panels := nPad / sgNR
	if panels >= threads {
		chunks := max((n+sgNC-1)/sgNC, threads)
		chunks = (chunks + threads - 1) / threads * threads
		chunk := ((n+chunks-1)/chunks + sgNR - 1) / sgNR * sgNR
		parallelChunks(n, chunk, threads, func(next func() (int, int, bool)) {
			buf := getF32(mPad * chunk)
			defer f32Pool.Put(buf)
			cb := *buf
			for j0, j1, ok := next(); ok; j0, j1, ok = next() {
				shiftedBlock(pa, x, off, j0, j1-j0, 0, pa.tiles, cb, chunk, lo, hi)
				store(cb, chunk, 0, m, j0, j1-j0)
			}
		})
		return
	}
	// Fewer panels than threads: split the row tiles.
	parallelFor(pa.tiles, 1, threads, func(t0, t1 int) {
		if t1 <= t0 {
			return
		}
		buf := getF32((t1 - t0) * sgMR * nPad)
		defer f32Pool.Put(buf)
		cb := *buf
		shiftedBlock(pa, x, off, 0, n, t0, t1, cb, nPad, lo, hi)
		store(cb, nPad, t0*sgMR, min(t1*sgMR, m), 0, n)
	})
}

// shiftedBlock computes row tiles [t0, t1) and columns [j0, j0+nc) of C into cb
// (row t0*6 and column j0 first, row stride ldc, whole 6×16 tiles).
func shiftedBlock(pa *PackedA, x []float32, off []int32, j0, nc, t0, t1 int, cb []float32, ldc int, lo, hi float32) {
	mPad := pa.tiles * sgMR
	panels := (nc + sgNR - 1) / sgNR
	inf := float32(math.Inf(1))
	if pa.kt == 0 {
		for r := 0; r < (t1-t0)*sgMR; r++ {
			row := cb[r*ldc : r*ldc+panels*sgNR]
			clear(row)
			clampRow(row, lo, hi)
		}
		return
	}
	for pc := 0; pc < pa.kt; pc += pa.blockK(pc) {
		kc := pa.blockK(pc)
		acc := pc > 0
		l, h := -inf, inf
		if pc+kc >= pa.kt {
			l, h = lo, hi
		}
		ablk := pa.data[pc*mPad:]
		o := off[pc : pc+kc]
		// As in sgemmPackedABlock: a block of A rows in L2, each B panel's rows
		// (in L1) reused across it.
		for tb := t0; tb < t1; tb += sgMC / sgMR {
			for q := 0; q < panels; {
				xb := x[j0+q*sgNR:]
				tEnd := min(t1, tb+sgMC/sgMR)
				// Two panels per call where the AVX-512 kernel runs them (twelve
				// independent accumulators; same bits as one panel at a time),
				// the last row tile on its real rows only (C's rows past m are
				// never stored).
				if q+1 < panels && f32Path != isaGo && sgemmTileInd2Rows(min(sgMR, pa.m-tb*sgMR), kc, ablk[tb*sgMR*kc:], xb, o, cb[(tb-t0)*sgMR*ldc+q*sgNR:], ldc, acc, l, h) {
					for t := tb + 1; t < tEnd; t++ {
						sgemmTileInd2Rows(min(sgMR, pa.m-t*sgMR), kc, ablk[t*sgMR*kc:], xb, o, cb[(t-t0)*sgMR*ldc+q*sgNR:], ldc, acc, l, h)
					}
					q += 2
					continue
				}
				for t := tb; t < tEnd; t++ {
					shiftedTile(kc, ablk[t*sgMR*kc:], xb, o, cb[(t-t0)*sgMR*ldc+q*sgNR:], ldc, acc, l, h)
				}
				q++
			}
		}
	}
}

// clampRow clamps to [lo, hi] with the micro-kernels' VMAXPS/VMINPS semantics
// (NaN propagates; of equal values the accumulator's is kept), which are also
// ONNX Clip's.
func clampRow(row []float32, lo, hi float32) {
	for j, v := range row {
		if lo > v {
			v = lo
		}
		if hi < v {
			v = hi
		}
		row[j] = v
	}
}

// shiftedTile runs the in-place-B 6×16 micro-kernel of the current path.
func shiftedTile(kc int, a, x []float32, off []int32, c []float32, ldc int, accum bool, lo, hi float32) {
	if f32Path == isaGo {
		shiftedTileGo(kc, a, x, off, c, ldc, accum, lo, hi)
		return
	}
	sgemmTileInd(kc, a, x, off, c, ldc, accum, lo, hi)
}

// shiftedTileGo is the pure-Go version: the rows gathered into a panel, then
// the packed tile (same summation order as the assembly) and the clamp.
func shiftedTileGo(kc int, a, x []float32, off []int32, c []float32, ldc int, accum bool, lo, hi float32) {
	panel := make([]float32, kc*sgNR)
	for p := 0; p < kc; p++ {
		copy(panel[p*sgNR:(p+1)*sgNR], x[off[p]:])
	}
	sgemmTileGo(kc, a, panel, c, ldc, accum)
	for r := 0; r < sgMR; r++ {
		clampRow(c[r*ldc:r*ldc+sgNR], lo, hi)
	}
}
