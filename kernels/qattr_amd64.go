//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qattr -out ../asm_qattr_amd64.s -stubs ../stubs_qattr_amd64.go -pkg kernels"

// gatherTaps16Vec gathers the leading rows of GatherTaps16F32 in assembly (bounds
// checked by the caller) and returns how many it did: multiples of 16 on
// AVX-512F, of 8 on AVX2, none on the Go path.
func gatherTaps16Vec(dst, x []float32, off *[16]int, n int) int {
	var o [16]int64
	for l, v := range off {
		o[l] = int64(v)
	}
	switch {
	case gather512OK && n >= 16:
		v := n &^ 15
		gatherTaps16AVX512(&dst[0], &x[0], &o[0], v)
		return v
	case simdPath != isaGo && n >= 8:
		v := n &^ 7
		gatherTaps16AVX2(&dst[0], &x[0], &o[0], v)
		return v
	}
	return 0
}
