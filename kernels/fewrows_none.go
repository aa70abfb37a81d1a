//go:build !amd64 || purego || noasm

package kernels

func fewRowsOK() bool { return false }

func fewRowsPanels(mr, p0, p1, n, k int, a []float32, lda int, bpack, c []float32, ldc int, accumulate bool) {
	panic("kernels: no few-row assembly kernels on this platform")
}

func dequantRowVec(_ []float32, _, _ []int32, _ []float32, _ float32, _ int32, _ bool) int { return 0 }
