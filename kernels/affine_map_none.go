//go:build !amd64 || purego || noasm

package kernels

func affineMapU8Vec([]float32, []uint8, float32, float32) int    { return 0 }
func affineMapI8Vec([]float32, []int8, float32, float32) int     { return 0 }
func affineMapF32Vec([]float32, []float32, float32, float32) int { return 0 }
