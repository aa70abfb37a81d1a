//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set affine -out ../asm_affine_amd64.s -stubs ../stubs_affine_amd64.go -pkg kernels"

// affineMapU8Vec runs the vector kernel on the longest prefix it takes and
// returns its length.
func affineMapU8Vec(dst []float32, src []uint8, a, b float32) int {
	switch {
	case f32Wide && len(src) >= 64:
		v := len(src) &^ 63
		affineU8F32AVX512(&dst[0], &src[0], v, a, b)
		return v
	case f32Path != isaGo && len(src) >= 32:
		v := len(src) &^ 31
		affineU8F32AVX2(&dst[0], &src[0], v, a, b)
		return v
	}
	return 0
}

func affineMapI8Vec(dst []float32, src []int8, a, b float32) int {
	switch {
	case f32Wide && len(src) >= 64:
		v := len(src) &^ 63
		affineI8F32AVX512(&dst[0], &src[0], v, a, b)
		return v
	case f32Path != isaGo && len(src) >= 32:
		v := len(src) &^ 31
		affineI8F32AVX2(&dst[0], &src[0], v, a, b)
		return v
	}
	return 0
}

func affineMapF32Vec(dst, src []float32, a, b float32) int {
	switch {
	case f32Wide && len(src) >= 64:
		v := len(src) &^ 63
		affineF32F32AVX512(&dst[0], &src[0], v, a, b)
		return v
	case f32Path != isaGo && len(src) >= 32:
		v := len(src) &^ 31
		affineF32F32AVX2(&dst[0], &src[0], v, a, b)
		return v
	}
	return 0
}
