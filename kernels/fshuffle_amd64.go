//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set fshuf -out ../asm_fshuf_amd64.s -stubs ../stubs_fshuf_amd64.go -pkg kernels"

// interleavePairsF32Vec runs interleavePairsF32AVX512 (AVX-512 F) and reports
// whether it did: not without AVX-512 or when the output run after the full
// 16-pair runs (the tail pairs and the padding) is longer than 32 floats.
func interleavePairsF32Vec(y []float32, sy, w int, a []float32, sa int, b []float32, sb int, h, n int) bool {
	h16 := h / 16
	rest := w - 32*h16
	if !f32Wide || rest > 32 {
		return false
	}
	t := h % 16
	klo := uint16(1<<min(rest, 16) - 1)
	khi := uint16(1<<max(rest-16, 0) - 1)
	interleavePairsF32AVX512(&y[0], 4*sy, &a[0], 4*sa, &b[0], 4*sb, h16, uint16(1<<t-1), klo, khi, n)
	return true
}
