//go:build !amd64 || purego || noasm

package kernels

// groupedBlockRow computes block b of one output row in Go (no assembly here).
func groupedBlockRow(g *groupedWeights, base []int8, b int, off []int64, pstride, ow int, out []int32) {
	groupedBlockRowGo(g, base, b, off, pstride, ow, out)
}

func qavgWidth() int { return 0 }

func qavgRow(width int, base []int8, off []int64, pstride, ow, nblk int, f []float64, sub int32, lo, hi float64, zp int32, out []int8, ostride int) {
	panic("kernels: qavgRow without assembly")
}

func groupedBlockRowWide(g *groupedWeights, base []int16, b int, off []int64, pstride, ow int, out []int32) {
	panic("kernels: groupedBlockRowWide without assembly")
}

// winBlockRow computes block b of one output row in Go (no assembly here).
func winBlockRow(g *winWeights, base []int8, b int, off []int64, pstride, ow int, out []int32) {
	winBlockRowGo(g, base, b, off, pstride, ow, out)
}

func winBlockRowWide(g *winWeights, base []int16, b int, off []int64, pstride, ow int, out []int32) {
	panic("kernels: winBlockRowWide without assembly")
}
