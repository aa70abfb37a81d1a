//go:build !amd64 || purego || noasm

package kernels

func tapRowsAsm() bool { return false }

func tapRowsTile(int, int, int, []float32, *[sgMR]int64, []float32, int, []float32, int) {
	panic("unreachable")
}
