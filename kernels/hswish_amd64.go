//go:build amd64 && !purego && !noasm

package kernels

// hardSwishAsm applies HardSwish to the longest vector-width prefix of src on
// this CPU's path and returns its length.
func hardSwishAsm(dst, src []float32) int {
	switch {
	case f32Wide:
		n := len(src) &^ 15
		if n > 0 {
			_ = dst[n-1]
			hardSwishF32AVX512(&dst[0], &src[0], n)
		}
		return n
	case f32Path == isaAVX2:
		n := len(src) &^ 7
		if n > 0 {
			_ = dst[n-1]
			hardSwishF32AVX2(&dst[0], &src[0], n)
		}
		return n
	}
	return 0
}
