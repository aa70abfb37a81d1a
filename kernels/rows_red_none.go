//go:build !amd64 || purego || noasm

package kernels

// rowsRedTiles runs ntiles reduced tiles in Go (no assembly here).
func rowsRedTiles(pw *RowsRed, ntiles int, a []float32, aoff, off []int32, dc int, c []float32, coff []int32, res []float32, lo, hi float32) {
	rowsRedTilesGo(pw, ntiles, a, aoff, off, dc, c, coff, res, lo, hi)
}
