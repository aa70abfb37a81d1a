//go:build !amd64 || purego || noasm

package kernels

func deformGatherAsm(dst, plane []float32, idx []int32, w, mask []float32, nb int) bool {
	return false
}

func deformCornersAsm(idx []int32, w, ys, xs []float32, c *[6]uint32, nb int) bool {
	return false
}
