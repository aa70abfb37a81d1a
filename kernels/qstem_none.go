//go:build !amd64 || purego || noasm

package kernels

// stemRow computes one output row of a stem convolution in Go (no assembly here).
func stemRow(sw *stemWeights, base []int8, pstride, rstride, ow int, out []int32) {
	stemRowGo(sw, base, pstride, rstride, ow, out)
}

func stemFused(p *rqParams) bool { return false }

func stemRowQ(sw *stemWeights, base []int8, pstride, rstride, ow int, p *rqParams, scale []float32, out []int8) {
	panic("kernels: stemRowQ without assembly")
}

func stemInputXOR() bool { return false }

// stemTakes reports whether the stem kernels run weights with a -128 exactly (Go: always).
func stemTakes(bool) bool { return true }

func xorCopy(dst, src []int8) {
	for i, v := range src {
		dst[i] = v ^ -128
	}
}
