//go:build !amd64 || purego || noasm

package kernels

func tanhAsm(dst, src []float32) int { return 0 }

func blend2Asm(dst []float32, ostride int, src []float32, off []int64, w []float32, n, c int) int {
	return 0
}

func roiBinsAsm(dst []float32, ostride int, src []float32, off []int64, w []float32, n, per, c int, count float32) int {
	return 0
}
