//go:build !amd64 || purego || noasm

package kernels

func dynqRowsVec([]float32, int, []int32, int, []int32, []int32, []float32, []float32, int, int, bool) bool {
	return false
}
