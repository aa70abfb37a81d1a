//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set upsample -out ../asm_upsample_amd64.s -stubs ../stubs_upsample_amd64.go -pkg kernels"

// tanhAsm applies tanh to the longest vector-width prefix of src on this
// CPU's path and returns its length.
func tanhAsm(dst, src []float32) int {
	w := f32Lanes()
	if w == 0 {
		return 0
	}
	n := len(src) &^ (w - 1)
	if n == 0 {
		return 0
	}
	_ = dst[n-1]
	if w == 16 {
		tanhF32AVX512(&dst[0], &src[0], n)
	} else {
		tanhF32AVX2(&dst[0], &src[0], n)
	}
	return n
}

// blend2Asm runs the two-tap blend of Blend2F32 on the first c&^(w-1)
// floats of every pixel with this CPU's vector kernel and returns how many
// floats per pixel it did (0 when it has none). The caller has checked the
// bounds.
func blend2Asm(dst []float32, ostride int, src []float32, off []int64, w []float32, n, c int) int {
	lanes := f32Lanes()
	if lanes == 0 || n == 0 {
		return 0
	}
	cv := c &^ (lanes - 1)
	if cv == 0 {
		return 0
	}
	if lanes == 16 {
		blend2F32AVX512(&dst[0], 4*ostride, &src[0], &off[0], &w[0], n, cv)
	} else {
		blend2F32AVX2(&dst[0], 4*ostride, &src[0], &off[0], &w[0], n, cv)
	}
	return cv
}

// roiBinsAsm runs RoiBinsF32 on the first c&^(w-1) floats of every bin with
// this CPU's vector kernel and returns how many floats per bin it did (0 when
// it has none). The caller has checked the bounds and that per > 0.
func roiBinsAsm(dst []float32, ostride int, src []float32, off []int64, w []float32, n, per, c int, count float32) int {
	lanes := f32Lanes()
	if lanes == 0 || n == 0 {
		return 0
	}
	cv := c &^ (lanes - 1)
	if cv == 0 {
		return 0
	}
	if lanes == 16 {
		roiBinsF32AVX512(&dst[0], 4*ostride, &src[0], &off[0], &w[0], n, per, cv, &count)
	} else {
		roiBinsF32AVX2(&dst[0], 4*ostride, &src[0], &off[0], &w[0], n, per, cv, &count)
	}
	return cv
}
