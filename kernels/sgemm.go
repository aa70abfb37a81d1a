package kernels

import (
	"fmt"
	"runtime"
)

// Sgemm computes C = A·B (or C += A·B when accumulate). Row-major. A is m×k
// (stored k×m when transA), B is k×n (stored n×k when transB). lda, ldb and ldc
// are the row strides of the stored matrices. threads <= 0 means
// runtime.GOMAXPROCS(0).
//
// The result is computed with float32 fused multiply-adds on the AVX2/AVX-512
// paths and with plain float32 multiply/add in pure Go, so the paths may differ
// in the last bits (float32 results are not bit-exact across dispatch paths; the
// int8 kernels are).
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, threads int) {
	if m <= 0 || n <= 0 {
		return
	}
	checkSgemmArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if k <= 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	threads = resolveThreads(threads)
	sgemmDriver(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, threads)
}

func resolveThreads(threads int) int {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if threads < 1 {
		threads = 1
	}
	return threads
}

func checkSgemmArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if k > 0 {
		if lda < ac || len(a) < (ar-1)*lda+ac {
			panic(fmt.Sprintf("kernels.Sgemm: A too small or bad lda (%d×%d, lda=%d, len=%d)", ar, ac, lda, len(a)))
		}
		if ldb < bc || len(b) < (br-1)*ldb+bc {
			panic(fmt.Sprintf("kernels.Sgemm: B too small or bad ldb (%d×%d, ldb=%d, len=%d)", br, bc, ldb, len(b)))
		}
	}
	if ldc < n || len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("kernels.Sgemm: C too small or bad ldc (%d×%d, ldc=%d, len=%d)", m, n, ldc, len(c)))
	}
}
