//go:build !amd64 || purego || noasm

package kernels

func binF32Vec(_, _, _ []float32, _ *BinGrid, _ *BinAcc) int { return 0 }
