package kernels

import "fmt"

// SgemmTapRowsF32 computes C[r][j] += Σ_{p<k} x[off[r]+p] · bt[j*ldb+p] for r <
// len(off) and j < n: the rows of A are runs of x at their own offsets, read in
// place (the kernel taps of QAT's shifted weight gradient in the padded image),
// and B is stored transposed (n rows of k floats, row stride ldb: dy spread over
// the padded width). C is len(off)×n, row stride ldc.
//
// The reduction runs in blocks of sgKC from p = 0, each block's sum one running
// FMA chain from zero, added to C: the sums of SgemmPackedAFunc over Cᵀ (A =
// bt packed, B = the taps, accumulate), bit for bit, which is the form it
// replaces: the taps are not packed (a transposing gather of every tap), only
// bt's n rows are, and every row tile holds six taps instead of the few output
// channels of Cᵀ's last tile. The tiles run on AVX-512 (sgemmTapsAVX512_*); without
// it the transposed packed GEMM computes the same bits.
func SgemmTapRowsF32(x []float32, off []int32, k int, bt []float32, ldb, n int, c []float32, ldc int, threads int) error {
	m := len(off)
	if m == 0 || n <= 0 || k <= 0 {
		return nil
	}
	if ldb < k || len(bt) < (n-1)*ldb+k {
		return fmt.Errorf("kernels: SgemmTapRowsF32: B^T of %d×%d, ldb %d, in %d floats", n, k, ldb, len(bt))
	}
	if ldc < n || len(c) < (m-1)*ldc+n {
		return fmt.Errorf("kernels: SgemmTapRowsF32: C of %d×%d, ldc %d, in %d floats", m, n, ldc, len(c))
	}
	for r, o := range off {
		if o < 0 || int(o)+k > len(x) {
			return fmt.Errorf("kernels: SgemmTapRowsF32: row %d reads x[%d:%d] of %d floats", r, o, int(o)+k, len(x))
		}
	}
	threads = resolveThreads(threads)
	if !tapRowsAsm() {
		tapRowsPacked(x, off, k, bt, ldb, n, c, ldc, threads)
		return nil
	}
	panels := (n + sgNR - 1) / sgNR
	tiles := (m + sgMR - 1) / sgMR
	bp := getF32(min(sgKC, k) * panels * sgNR)
	defer f32Pool.Put(bp)
	var lanes [16]int
	for pc := 0; pc < k; pc += sgKC {
		kc := min(sgKC, k-pc)
		stride := kc * sgNR
		bb := (*bp)[:panels*stride]
		for q := 0; q < panels; q++ {
			d := bb[q*stride : (q+1)*stride]
			w := min(sgNR, n-q*sgNR)
			if w < sgNR {
				clear(d)
				for l := 0; l < w; l++ {
					for p, v := range bt[(q*sgNR+l)*ldb+pc:][:kc] {
						d[p*sgNR+l] = v
					}
				}
				continue
			}
			for l := range lanes {
				lanes[l] = (q*sgNR+l)*ldb + pc
			}
			if err := GatherTaps16F32(d, bt, &lanes, kc); err != nil {
				return err
			}
		}
		xb := x[pc:]
		parallelFor(tiles, 1, threads, func(t0, t1 int) {
			var tile [sgMR * sgNR]float32
			for t := t0; t < t1; t++ {
				r0 := t * sgMR
				mr := min(sgMR, m-r0)
				var o [sgMR]int64
				for r := 0; r < mr; r++ {
					o[r] = int64(off[r0+r])
				}
				for q := 0; q < panels; {
					w := min(sgNR, n-q*sgNR)
					cq := c[r0*ldc+q*sgNR:]
					switch {
					case w == sgNR && q+1 < panels && n-(q+1)*sgNR >= sgNR:
						tapRowsTile(mr, 2, kc, xb, &o, bb[q*stride:], stride, cq, ldc)
						q += 2
					case w == sgNR:
						tapRowsTile(mr, 1, kc, xb, &o, bb[q*stride:], stride, cq, ldc)
						q++
					default:
						// the last, narrower panel through a tile holding C's
						// columns (the others zero and dropped)
						for r := 0; r < mr; r++ {
							copy(tile[r*sgNR:r*sgNR+w], cq[r*ldc:r*ldc+w])
						}
						tapRowsTile(mr, 1, kc, xb, &o, bb[q*stride:], stride, tile[:], sgNR)
						for r := 0; r < mr; r++ {
							copy(cq[r*ldc:r*ldc+w], tile[r*sgNR:r*sgNR+w])
						}
						q++
					}
				}
			}
		})
	}
	return nil
}

// tapRowsPacked is SgemmTapRowsF32 as the transposed packed GEMM (the path
// without the AVX-512 tiles): Cᵀ += B·Aᵀ with bt packed as A and the taps
// packed as B, C transposed into a scratch and back.
func tapRowsPacked(x []float32, off []int32, k int, bt []float32, ldb, n int, c []float32, ldc int, threads int) {
	m := len(off)
	ctp := getF32(n * m)
	defer f32Pool.Put(ctp)
	ct := (*ctp)[:n*m]
	for r := 0; r < m; r++ {
		for j, v := range c[r*ldc : r*ldc+n] {
			ct[j*m+r] = v
		}
	}
	pa := PackSgemmA(false, n, k, bt, ldb, nil)
	SgemmPackedAFunc(pa, m, func(dst []float32, stride, p0, kc, j0, nc int) {
		for q := 0; q*sgNR < nc; q++ {
			d := dst[q*stride : q*stride+kc*sgNR]
			w := min(sgNR, nc-q*sgNR)
			if w < sgNR {
				clear(d)
			}
			for l := 0; l < w; l++ {
				for p, v := range x[int(off[j0+q*sgNR+l])+p0:][:kc] {
					d[p*sgNR+l] = v
				}
			}
		}
	}, ct, m, true, nil, threads)
	for r := 0; r < m; r++ {
		for j := range c[r*ldc : r*ldc+n] {
			c[r*ldc+j] = ct[j*m+r]
		}
	}
}
