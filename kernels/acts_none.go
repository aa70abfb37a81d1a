//go:build !amd64 || purego || noasm

package kernels

func actsAsm(a Act, dst, src []float32) int { return 0 }

func eluAsm(dst, src []float32, p ELU) int { return 0 }

func hardSigmoidAsm(dst, src []float32, alpha, beta float32) int { return 0 }

func clampAsm(dst, src []float32, lo, hi float32) int { return 0 }
