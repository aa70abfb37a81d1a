//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set dynq -out ../asm_dynq_amd64.s -stubs ../stubs_dynq_amd64.go -pkg kernels"

type dynqRowsFn func(dst *float32, ldd int, acc *int32, lda int, colk, z *int32, sc, bias *float32, n, rows int)

// dynqRowsAVX512K and dynqRowsAVX2K are the kernels by [bias][relu].
var dynqRowsAVX512K = [2][2]dynqRowsFn{{dynqRowsAVX512, dynqRowsAVX512Relu}, {dynqRowsAVX512Bias, dynqRowsAVX512BiasRelu}}
var dynqRowsAVX2K = [2][2]dynqRowsFn{{dynqRowsAVX2, dynqRowsAVX2Relu}, {dynqRowsAVX2Bias, dynqRowsAVX2BiasRelu}}

// dynqRowsVec runs the rows on this CPU's kernel; false when it has none.
func dynqRowsVec(dst []float32, ldd int, acc []int32, lda int, colk, z []int32, sc, bias []float32, n, rows int, relu bool) bool {
	var f dynqRowsFn
	hb := b2i(bias != nil)
	switch {
	case f32Wide:
		f = dynqRowsAVX512K[hb][b2i(relu)]
	case f32Path != isaGo:
		f = dynqRowsAVX2K[hb][b2i(relu)]
	default:
		return false
	}
	bp := &sc[0]
	if bias != nil {
		bp = &bias[0]
	}
	f(&dst[0], ldd, &acc[0], lda, &colk[0], &z[0], &sc[0], bp, n, rows)
	return true
}
