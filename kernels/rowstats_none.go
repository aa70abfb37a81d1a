//go:build !amd64 || purego || noasm

package kernels

func rowSumAsm(src []float32) (float32, int)                                  { return 0, 0 }
func rowSqDevSumAsm(src []float32, mean float32) (float32, int)               { return 0, 0 }
func rowNormAffineAsm(dst, src, scale, bias []float32, mean, inv float32) int { return 0 }
func rowMaxAsm(src []float32) (float32, int)                                  { return 0, 0 }
func rowScaleFlushAsm(dst []float32, c float32) int                           { return 0 }
func rowAddAsm(dst, a, b []float32) int                                       { return 0 }
func rowSelectAsm(dst, a []float32, keep []uint32, fill []float32) int        { return 0 }
func rowsAddI32Asm(dst []int32, ld, n int, c []int32) int                     { return 0 }
