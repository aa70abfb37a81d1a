//go:build !amd64 || purego || noasm

package kernels

func sgemvPanelsAsm(a []float32, pb *PackedB, p0, p1 int, c []float32, accumulate bool) bool {
	return false
}
