package kernels

import "sync"

// GotoBLAS-style blocking for the float32 micro-kernel (6×16 on AVX2+FMA).
const (
	sgMR = 6
	sgNR = 16
	sgKC = 384
	sgMC = 96
)

var f32Pool = sync.Pool{New: func() any { return new([]float32) }}

func getF32(n int) *[]float32 { return getBuf[float32](&f32Pool, n) }

// getBuf takes a scratch slice of n elements from pool (whose New makes a
// *[]T), growing it when it is too short; the caller puts it back.
func getBuf[T any](pool *sync.Pool, n int) *[]T {
	p := pool.Get().(*[]T)
	if cap(*p) < n {
		*p = make([]T, n)
	}
	*p = (*p)[:n]
	return p
}

func sgemmDriver(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, threads int) {
	if f32Path == isaGo || (m*n*k < 16*16*16) {
		sgemmDriverGo(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, threads)
		return
	}
	// Pack all of B once into panels [n/16][k][16] (zero-padded columns), shared by the threads.
	panels := (n + sgNR - 1) / sgNR
	bp := getF32(panels * k * sgNR)
	defer f32Pool.Put(bp)
	bpack := *bp
	parallelFor(panels, 1, threads, func(p0, p1 int) {
		packB(transB, b, ldb, k, n, p0, p1, bpack)
	})
	rowTiles := (m + sgMR - 1) / sgMR
	if threads > 1 && rowTiles < 2*threads && panels >= 2*threads {
		parallelFor(panels, 1, threads, func(p0, p1 int) {
			sgemmBlock(transA, 0, m, p0, p1, n, k, a, lda, bpack, c, ldc, accumulate)
		})
		return
	}
	chunk := max(1, (rowTiles+4*threads-1)/(4*threads)) * sgMR
	parallelChunks(m, chunk, threads, func(next func() (int, int, bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			sgemmBlock(transA, lo, hi, 0, panels, n, k, a, lda, bpack, c, ldc, accumulate)
		}
	})
}

func sgemmBlock(transA bool, lo, hi, p0, p1, n, k int, a []float32, lda int, bpack []float32, c []float32, ldc int, accumulate bool) {
	if hi <= lo || p1 <= p0 {
		return
	}
	ap := getF32(sgMC * sgKC)
	defer f32Pool.Put(ap)
	apack := *ap
	var tile [sgMR * sgNR]float32
	for pc := 0; pc < k; pc += sgKC {
		kc := min(sgKC, k-pc)
		acc := accumulate || pc > 0
		for ic := lo; ic < hi; ic += sgMC {
			mc := min(sgMC, hi-ic)
			packABlock(transA, a, lda, ic, mc, pc, kc, apack)
			for p := p0; p < p1; p++ {
				col := p * sgNR
				nc := min(sgNR, n-col)
				bsub := bpack[(p*k+pc)*sgNR:]
				for ir := 0; ir < mc; ir += sgMR {
					mr := min(sgMR, mc-ir)
					asub := apack[ir*kc:]
					crow := (ic + ir) * ldc
					if mr == sgMR && nc == sgNR {
						sgemmTile(kc, asub, bsub, c[crow+col:], ldc, acc)
						continue
					}
					if nc == sgNR && sgemmTilePart(mr, kc, asub, bsub, c[crow+col:], ldc, acc) {
						continue // the last rows only, straight into C
					}
					sgemmTile(kc, asub, bsub, tile[:], sgNR, false)
					putTile(c[crow+col:], ldc, tile[:], mr, nc, acc)
				}
			}
		}
	}
}

// packB packs the column panels [p0, p1) of B (k rows, n columns) into bpack,
// panel p at bpack[p*k*16:] as [k][16].
func packB(transB bool, b []float32, ldb, k, n, p0, p1 int, bpack []float32) {
	full := min(p1, n/sgNR) // panels without a column tail
	if !transB && full > p0 {
		// row-major traversal: sequential reads of B
		for p := 0; p < k; p++ {
			row := b[p*ldb : p*ldb+full*sgNR]
			for q := p0; q < full; q++ {
				*(*[sgNR]float32)(bpack[(q*k+p)*sgNR:]) = *(*[sgNR]float32)(row[q*sgNR:])
			}
		}
		p0 = full
	}
	for q := p0; q < p1; q++ {
		packBPanel(transB, b, ldb, k, q*sgNR, min(sgNR, n-q*sgNR), bpack[q*k*sgNR:(q+1)*k*sgNR])
	}
}

// packBPanel packs columns [j0, j0+nc) of B (k rows) into dst as [k][16].
func packBPanel(transB bool, b []float32, ldb, k, j0, nc int, dst []float32) {
	if !transB && nc == sgNR {
		for p := 0; p < k; p++ {
			*(*[sgNR]float32)(dst[p*sgNR:]) = *(*[sgNR]float32)(b[p*ldb+j0:])
		}
		return
	}
	if !transB {
		for p := 0; p < k; p++ {
			d := dst[p*sgNR : p*sgNR+sgNR]
			copy(d, b[p*ldb+j0:p*ldb+j0+nc])
			clear(d[nc:])
		}
		return
	}
	for j := 0; j < nc; j++ {
		src := b[(j0+j)*ldb : (j0+j)*ldb+k]
		for p, v := range src {
			dst[p*sgNR+j] = v
		}
	}
	if nc < sgNR {
		for p := 0; p < k; p++ {
			clear(dst[p*sgNR+nc : p*sgNR+sgNR])
		}
	}
}

// packABlock packs rows [i0, i0+mc) × cols [p0, p0+kc) of A into dst as
// row tiles of [kc][6] (zero-padded rows).
func packABlock(transA bool, a []float32, lda, i0, mc, p0, kc int, dst []float32) {
	for ir := 0; ir < mc; ir += sgMR {
		mr := min(sgMR, mc-ir)
		d := dst[ir*kc : ir*kc+kc*sgMR]
		if transA {
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+i0+ir:]
				dp := d[p*sgMR : p*sgMR+sgMR]
				copy(dp, src[:mr])
				clear(dp[mr:])
			}
			continue
		}
		if mr == sgMR {
			r0 := a[(i0+ir)*lda+p0:][:kc]
			r1 := a[(i0+ir+1)*lda+p0:][:kc]
			r2 := a[(i0+ir+2)*lda+p0:][:kc]
			r3 := a[(i0+ir+3)*lda+p0:][:kc]
			r4 := a[(i0+ir+4)*lda+p0:][:kc]
			r5 := a[(i0+ir+5)*lda+p0:][:kc]
			for p := 0; p < kc; p++ {
				dp := (*[6]float32)(d[p*6:])
				dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
			continue
		}
		clear(d)
		for r := 0; r < mr; r++ {
			row := a[(i0+ir+r)*lda+p0:][:kc]
			for p, v := range row {
				d[p*sgMR+r] = v
			}
		}
	}
}

// sgemmDriverGo is the pure-Go path: row blocks over threads.
func sgemmDriverGo(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, threads int) {
	if min(threads, (m+7)/8) <= 1 {
		// What parallelFor would run inline, without the closure it
		// allocates (the products under 16³ of a decoder step land here).
		sgemmGeneric(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return
	}
	parallelFor(m, 8, threads, func(lo, hi int) {
		if hi <= lo {
			return
		}
		var as []float32
		if transA {
			as = a[lo:]
		} else {
			as = a[lo*lda:]
		}
		sgemmGeneric(transA, transB, hi-lo, n, k, as, lda, b, ldb, c[lo*ldc:], ldc, accumulate)
	})
}

// putRow writes src to dst (of the same length), or adds it when acc.
func putRow(dst, src []float32, acc bool) {
	if !acc {
		copy(dst, src)
		return
	}
	for j := range dst {
		dst[j] += src[j]
	}
}

// putTile writes (or adds, when acc) the mr×w corner of a tile of row stride
// sgNR to dst, row stride ldd.
func putTile(dst []float32, ldd int, tile []float32, mr, w int, acc bool) {
	for r := 0; r < mr; r++ {
		putRow(dst[r*ldd:r*ldd+w], tile[r*sgNR:r*sgNR+w], acc)
	}
}
