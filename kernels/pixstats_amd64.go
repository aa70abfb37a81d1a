//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set pixstats -out ../asm_pixstats_amd64.s -stubs ../stubs_pixstats_amd64.go -pkg kernels"

// sqDevPixelsWide writes dst[c] = Σ_{p<n} (x[p*stride+c] − mu[c])² for the
// first len(dst)&^15 channels with the AVX-512 kernel and returns how many.
func sqDevPixelsWide(dst, x, mu []float32, n, stride int) int {
	if !f32Wide || n == 0 {
		return 0
	}
	c := len(dst) &^ 15
	if c > 0 {
		_ = x[(n-1)*stride+c-1]
		_ = mu[c-1]
	}
	for b := 0; b < c; b += 16 {
		sqDevPixelsF32AVX512(&dst[b], &x[b], &mu[b], n, stride*4)
	}
	return c
}
