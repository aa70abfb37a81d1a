package kernels

// Small products with B stored transposed, C = alpha·A·Bᵀ, for a few rows
// of A (twenty-third session). Informer's ProbSparse attention multiplies
// every query row by its own 12 sampled keys: 384 products of 1x16 by 16x12
// a run, each of which went through Sgemm (a transposing pack of B per call,
// then a 6x16 tile of which one row is real): about 250 ns a product for 192
// multiply-adds. SmallGemmTF32 computes each row of C as dot products of
// contiguous rows (asm_smalldot_amd64.s, the "smalldot" set): one vector
// accumulator per row of B, their lanes summed together by a shuffle tree.

// SmallGemmTFits reports whether SmallGemmTF32 is the better kernel for a
// product of m rows: it reads B once per row of A, where Sgemm packs it once.
func SmallGemmTFits(m, n, k int) bool {
	return m >= 1 && m <= 4 && n >= 1 && k >= 1 && k <= 1024
}

// SmallGemmTF32 sets C[i·ldc+j] = alpha·Σ_{p<k} A[i·lda+p]·B[j·ldb+p] for
// i < m, j < n. The sums run along p in vectors (not in p order), so a
// result may differ from Sgemm's in the last bits.
func SmallGemmTF32(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	_ = a[(m-1)*lda+k-1]
	_ = b[(n-1)*ldb+k-1]
	_ = c[(m-1)*ldc+n-1]
	if k <= 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	w := smallDotTWidth()
	for i := 0; i < m; i++ {
		ar := a[i*lda : i*lda+k]
		for j := 0; j < n; j += w {
			nn := min(w, n-j)
			cr := c[i*ldc+j : i*ldc+j+nn]
			br := b[j*ldb : (j+nn-1)*ldb+k]
			if !smallDotTVec(ar, br, ldb, k, nn, cr, alpha) {
				smallDotTGo(ar, br, ldb, k, nn, cr, alpha)
			}
		}
	}
}

// smallDotTGo is the portable form: c[j] = alpha·Σ_p a[p]·b[j·ldb+p].
func smallDotTGo(a, b []float32, ldb, k, n int, c []float32, alpha float32) {
	for j := 0; j < n; j++ {
		br := b[j*ldb : j*ldb+k]
		var s float32
		for p, v := range a[:k] {
			s += v * br[p]
		}
		c[j] = alpha * s
	}
}
