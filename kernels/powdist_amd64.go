//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set powdist -out ../asm_powdist_amd64.s -stubs ../stubs_powdist_amd64.go -pkg kernels"

// powAsm runs the vector Pow over the longest multiple-of-8 prefix of src
// and returns its length (0 without AVX-512).
func powAsm(dst, src []float32, e float64) int {
	n := len(src) &^ 7
	if !f32Wide || n == 0 {
		return 0
	}
	_ = dst[n-1]
	powF32AVX512(&dst[0], &src[0], n, e)
	return n
}

// sqDistAsm is SqDistF32 on AVX-512; false on other CPUs.
func sqDistAsm(dst, a []float32, as int, b []float32, bs, k int, l2 bool) bool {
	if !f32Wide {
		return false
	}
	l := 0
	if l2 {
		l = 1
	}
	sqDistF32AVX512(&dst[0], &a[0], as, &b[0], bs, len(dst), k, l)
	return true
}
