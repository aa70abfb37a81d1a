package kernels

func sgemmDriver(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, threads int) {
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
