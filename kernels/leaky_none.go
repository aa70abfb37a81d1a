//go:build !amd64 || purego || noasm

package kernels

func leakyAsm(dst, src []float32, alpha float32) int { return 0 }

func preluAsm(dst, src, slope []float32) int { return 0 }
