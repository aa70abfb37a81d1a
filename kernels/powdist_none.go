//go:build !amd64 || purego || noasm

package kernels

func powAsm(dst, src []float32, e float64) int { return 0 }

func sqDistAsm(dst, a []float32, as int, b []float32, bs, k int, l2 bool) bool { return false }
