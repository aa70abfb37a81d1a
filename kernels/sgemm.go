package kernels

import (
	"fmt"
	"runtime"
	"strings"
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
	if k > 0 {
		checkMatrix("kernels.Sgemm", "A", transA, m, k, a, lda)
		checkMatrix("kernels.Sgemm", "B", transB, k, n, b, ldb)
	}
	checkMatrix("kernels.Sgemm", "C", false, m, n, c, ldc)
}

// checkMatrix panics unless x holds a rows×cols matrix (stored cols×rows
// when trans) of row stride ld; fn and name (A, B or C) say whose.
func checkMatrix(fn, name string, trans bool, rows, cols int, x []float32, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if ld < cols || len(x) < (rows-1)*ld+cols {
		l := "ld" + strings.ToLower(name)
		panic(fmt.Sprintf("%s: %s too small or bad %s (%d×%d, %s=%d, len=%d)", fn, name, l, rows, cols, l, ld, len(x)))
	}
}
