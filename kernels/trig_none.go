//go:build !amd64 || purego || noasm

package kernels

func trigAsm(cos bool, dst, src []float32) (int, bool) { return 0, false }

func expAsm(dst, src []float32) int { return 0 }

func erfAsm(dst, src []float32) int { return 0 }
