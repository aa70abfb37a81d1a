//go:build !amd64 || purego || noasm

package kernels

func chanLUTPixelsVec(t *ChanLUT, in, out []int8, n int) bool { return false }
