package kernels

// sgemmGeneric is the plain Go reference GEMM used by the pure-Go path for
// small problems and by tests.
func sgemmGeneric(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		if !accumulate {
			clear(crow)
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			if !transB {
				brow := b[p*ldb : p*ldb+n]
				for j, bv := range brow {
					crow[j] += av * bv
				}
			} else {
				for j := range crow {
					crow[j] += av * b[j*ldb+p]
				}
			}
		}
	}
}
