//go:build !amd64 || purego || noasm

package kernels

func binBlockF32Vec(BinOp, int, []float32, []float32, int, []float32, int, int, int) bool {
	return false
}
