//go:build !amd64 || purego || noasm

package kernels

// rowsIdxTiles runs ntiles indexed 6×16 tiles in Go (no assembly here).
func rowsIdxTiles(ntiles, k int, a []float32, aoff, off []int32, b, bias, c []float32, coff []int32, res []float32, lo, hi float32) {
	rowsIdxTilesGo(ntiles, k, a, aoff, off, b, bias, c, coff, res, lo, hi)
}
