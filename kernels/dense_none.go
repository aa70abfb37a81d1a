//go:build !amd64 || purego || noasm

package kernels

// denseTilesOK reports whether the 12x32 tiles of SgemmDense run here: not
// without the assembly.
func denseTilesOK() bool { return false }

// denseTiles runs ntiles mr×32 tiles of SgemmDense in Go (no assembly here).
func denseTiles(mr, ntiles, k int, a []float32, lda int, b, bias, c []float32, ldc int, accum bool, res []float32, w int, _ []float32) {
	denseTilesGo(mr, ntiles, k, a, lda, b, bias, c, ldc, accum, res, w)
}
