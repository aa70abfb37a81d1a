//go:build !amd64 || purego || noasm

package kernels

func qsmRowAsm([]int8, []int8, *[256]float32, []ScoreTerm, int, []float32, float32, int32) bool {
	return false
}
