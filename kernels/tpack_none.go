//go:build !amd64 || purego || noasm

package kernels

func packTrans16Vec([]float32, int, []float32, int, int, float32) int { return 0 }
