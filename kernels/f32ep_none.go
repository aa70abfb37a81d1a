//go:build !amd64 || purego || noasm

package kernels

func actAsm(a Act, dst, src []float32) int { return 0 }

func dwRowF32Wide(base []float32, off []int64, taps, pstride, ow int, w, bias, out []float32, cp, ostride int, ep *[2]float32) bool {
	return false
}

func sumPixelsWide(dst, x []float32, n, stride int) int { return 0 }

func expShiftSumAsm(dst, src []float32, shift float32) (float32, int) { return 0, 0 }
