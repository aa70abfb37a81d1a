package kernels

import "math"

// AffineMapU8 writes dst[i] = float32(src[i])·a + b (one rounding, as the
// vector kernels' FMA) for i < len(src): the uint8 input of an exported
// preprocessing chain (Cast, Div by 255, Sub mean, Div std) as one pass.
func AffineMapU8(dst []float32, src []uint8, a, b float32) {
	dst = dst[:len(src)]
	v := affineMapU8Vec(dst, src, a, b)
	for i, x := range src[v:] {
		dst[v+i] = fma32(float32(x), a, b)
	}
}

// AffineMapI8 is AffineMapU8 from int8.
func AffineMapI8(dst []float32, src []int8, a, b float32) {
	dst = dst[:len(src)]
	v := affineMapI8Vec(dst, src, a, b)
	for i, x := range src[v:] {
		dst[v+i] = fma32(float32(x), a, b)
	}
}

// AffineMapF32 writes dst[i] = src[i]·a + b (one FMA) for i < len(src); dst
// may be src.
func AffineMapF32(dst, src []float32, a, b float32) {
	dst = dst[:len(src)]
	v := affineMapF32Vec(dst, src, a, b)
	for i, x := range src[v:] {
		dst[v+i] = fma32(x, a, b)
	}
}

// fma32 is x·y + z for the elements past the vector kernels' blocks: the
// product is exact in float64, the sum rounds once in float64 and again to
// float32, which can differ from the vector FMA's single rounding only in
// the last bit of a double-rounding tie.
func fma32(x, y, z float32) float32 {
	return float32(math.FMA(float64(x), float64(y), float64(z)))
}
