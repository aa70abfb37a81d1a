//go:build !amd64 || purego || noasm

package kernels

func zmmFullWidth() bool { return false }
