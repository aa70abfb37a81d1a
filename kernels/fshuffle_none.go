//go:build !amd64 || purego || noasm

package kernels

func interleavePairsF32Vec(y []float32, sy, w int, a []float32, sa int, b []float32, sb int, h, n int) bool {
	return false
}
