//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set tpack -out ../asm_tpack_amd64.s -stubs ../stubs_tpack_amd64.go -pkg kernels"

// packTrans16Vec writes dst[r*ldd+l] = alpha·b[l*ldb+r] for the 16 lanes l
// and the leading rows r of k that the AVX-512 kernel takes (a multiple of
// 16), and returns how many it did (none without AVX-512).
func packTrans16Vec(dst []float32, ldd int, b []float32, ldb, k int, alpha float32) int {
	kv := k &^ 15
	if !f32Wide || kv == 0 {
		return 0
	}
	_ = dst[(kv-1)*ldd+15]
	_ = b[15*ldb+kv-1]
	packTrans16AVX512(&dst[0], ldd, &b[0], ldb, kv, alpha)
	return kv
}
