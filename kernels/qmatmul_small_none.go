//go:build !amd64 || purego || noasm

package kernels

func smallMatMulOK() bool { return false }

func smallMatMulAsm(*MatMulScratch, int, int, int, []int8, int32, []int8, int32, []int32) {
	panic("kernels: no small int8 product kernel in this build")
}
