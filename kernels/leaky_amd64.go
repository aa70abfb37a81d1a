//go:build amd64 && !purego && !noasm

package kernels

// leakyAsm is actAsm for LeakyReluAct(alpha).
func leakyAsm(dst, src []float32, alpha float32) int {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	q := [1]float32{alpha}
	if w == 16 {
		leakyF32AVX512(&dst[0], &src[0], n, &q[0])
	} else {
		leakyF32AVX2(&dst[0], &src[0], n, &q[0])
	}
	return n
}

// preluAsm applies PReluF32 to the longest vector-width prefix of src and
// returns its length.
func preluAsm(dst, src, slope []float32) int {
	w := f32Lanes()
	n := len(src) &^ (w - 1)
	if w == 0 || n == 0 {
		return 0
	}
	_, _ = dst[n-1], slope[n-1]
	if w == 16 {
		preluF32AVX512(&dst[0], &src[0], n, &slope[0])
	} else {
		preluF32AVX2(&dst[0], &src[0], n, &slope[0])
	}
	return n
}
