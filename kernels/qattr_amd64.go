//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qattr -out ../asm_qattr_amd64.s -stubs ../stubs_qattr_amd64.go -pkg kernels"

// gatherTaps16Vec gathers the leading rows of GatherTaps16F32 in assembly (bounds
// checked by the caller) and returns how many it did: blocks of 16 on
// AVX-512F, then of 8 on AVX2 (a multiple of 8 in all), none on the Go path.
func gatherTaps16Vec(dst, x []float32, off *[16]int, n int) int {
	var o [16]int64
	for l, v := range off {
		o[l] = int64(v)
	}
	v := 0
	if gather512OK && n >= 16 {
		v = n &^ 15
		gatherTaps16AVX512(&dst[0], &x[0], &o[0], v)
	}
	if simdPath != isaGo && n-v >= 8 {
		// the 8 rows after the 16-row blocks (or all of them without AVX-512)
		w := (n - v) &^ 7
		gatherTaps16AVX2(&dst[16*v], &x[v], &o[0], w)
		v += w
	}
	return v
}
