//go:build !amd64 || purego || noasm

package kernels

// groupedBlockRow computes block b of one output row in Go (no assembly here).
func groupedBlockRow(g *groupedWeights, base []int8, b int, off []int64, pstride, ow int, out []int32) {
	groupedBlockRowGo(g, base, b, off, pstride, ow, out)
}
