//go:build !amd64 || purego || noasm

package kernels

// rowsIdxTiles runs ntiles indexed 6×nr tiles in Go (no assembly here).
func rowsIdxTiles(nr, ntiles, k int, a []float32, aoff, off []int32, b, bias, c []float32, coff []int32, res []float32, lo, hi float32, _ []float32, _ int) {
	rowsIdxTilesGo(nr, ntiles, k, a, aoff, off, b, bias, c, coff, res, lo, hi)
}

// stemTiles runs ntiles 12×n stem tiles in Go (no assembly here).
func stemTiles(n, xs, ntiles, k int, a []float32, off []int32, b, bias, c []float32, ldc int, lo, hi float32) {
	stemTilesGo(n, xs, ntiles, k, a, off, b, bias, c, ldc, lo, hi)
}
