//go:build !amd64 || purego || noasm

package kernels

func qsmRowsAsm([]int8, []int8, int, int, *[256]float32, []ScoreTerm, int, []float32, float32, int32) bool {
	return false
}
