//go:build !amd64 || purego || noasm

package kernels

// stemRow computes one output row of a stem convolution in Go (no assembly here).
func stemRow(sw *stemWeights, base []int8, pstride, rstride, ow int, out []int32) {
	stemRowGo(sw, base, pstride, rstride, ow, out)
}
