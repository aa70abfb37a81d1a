//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set smalldot -out ../asm_smalldot_amd64.s -stubs ../stubs_smalldot_amd64.go -pkg kernels"

// smallDotTVec runs one row of A against up to smallDotTWidth() rows of B on
// this CPU's kernel; false when it has none (the Go path).
func smallDotTVec(a, b []float32, ldb, k, n int, c []float32, alpha float32) bool {
	switch {
	case f32Wide:
		smallDotTAVX512(&a[0], &b[0], ldb, k, n, &c[0], alpha)
	case f32Path != isaGo:
		smallDotTAVX2(&a[0], &b[0], ldb, k, n, &c[0], alpha)
	default:
		return false
	}
	return true
}

// smallDotTWidth is the number of rows of B one call of the kernel takes.
func smallDotTWidth() int {
	if f32Wide {
		return 16
	}
	return 8
}
