//go:build !amd64 || purego || noasm

package kernels

func smallDotTVec([]float32, []float32, int, int, int, []float32, float32) bool { return false }

func smallDotTWidth() int { return 16 }
