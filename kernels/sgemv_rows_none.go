//go:build !amd64 || purego || noasm

package kernels

func sgemvRowsAsmOK(nr int) bool { return false }

func sgemvRowsAsm(pb *RowsB, u int, a []float32, init, out *[rowsWideNR]float32) {
	panic("kernels: no one-row assembly kernels on this platform")
}

func sgemvPanelsAsm(a []float32, pb *PackedB, p0, p1 int, c []float32, accumulate bool) bool {
	return false
}

func sgemvPanel(nr, k int, a, panel []float32, init, out *[rowsWideNR]float32) {
	panic("kernels: no one-row assembly kernels on this platform")
}
