//go:build !amd64 || purego || noasm

package kernels

// rowsTilesPf is rowsTiles (no assembly here, nothing to prefetch with).
func rowsTilesPf(ntiles, nr, k int, a []float32, lda int, off []int32, b, bias, c []float32, ldc int, accum bool, res []float32, lo, hi float32, _ []float32, _ int) {
	rowsTiles(ntiles, nr, k, a, lda, off, b, bias, c, ldc, accum, res, lo, hi)
}
