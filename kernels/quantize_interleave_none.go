//go:build !amd64 || purego || noasm

package kernels

// quantInterleave3Vec: no assembly here, the Go path does every pixel.
func quantInterleave3Vec([]float32, int, int, float32, int32, byte, []int8) int { return 0 }
