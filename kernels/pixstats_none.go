//go:build !amd64 || purego || noasm

package kernels

func sqDevPixelsWide(dst, x, mu []float32, n, stride int) int { return 0 }
