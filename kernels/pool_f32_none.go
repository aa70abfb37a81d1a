//go:build !amd64 || purego || noasm

package kernels

func poolF32Vec(isMax bool, dst []float32, dstride int, src []float32, c, kh, kw, hstride, wstride, pstride, n int, scale float32) bool {
	return false
}

func affineRowsVec(x []float32, sx, n, c int, a, b []float32, y []float32, sy int, lo, hi float32) bool {
	return false
}

func maxWindowsI8Vec(dst, src []int8, c, kh, kw, hstride, wstride, pstride, n int) bool {
	return false
}
