//go:build !amd64 || purego || noasm

package kernels

// rowsPairTiles runs ntiles paired tiles in Go (no assembly here).
func rowsPairTiles(ntiles, k int, a []float32, aoff, off []int32, dc int, b, bias, c []float32, coff []int32, res []float32, lo, hi float32) {
	rowsPairTilesGo(ntiles, k, a, aoff, off, dc, b, bias, c, coff, res, lo, hi)
}
