//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qstem -out ../asm_qstem_amd64.s -stubs ../stubs_qstem_amd64.go -pkg kernels"

type qstemFunc func(in *int8, pstride int, rstride int, kh int, seg4 int, w *int8, wstep int, bias *int32, out *int32, ostride int, ow int)

// qstemVNNIKernels[nb-1] = {4 pixels per iteration, 1 pixel} for nb blocks
// of 16 output channels.
var qstemVNNIKernels = [4][2]qstemFunc{
	{qstemVNNI_1x4, qstemVNNI_1x1},
	{qstemVNNI_2x4, qstemVNNI_2x1},
	{qstemVNNI_3x4, qstemVNNI_3x1},
	{qstemVNNI_4x4, qstemVNNI_4x1},
}

// stemRow computes one output row of a stem convolution (see stemRowGo) with
// the kernels of the int8 path: VNNI on up to 4 blocks per call, AVX2 on one.
func stemRow(sw *stemWeights, base []int8, pstride, rstride, ow int, out []int32) {
	if int8Path == isaGo {
		stemRowGo(sw, base, pstride, rstride, ow, out)
		return
	}
	stemRowCheck(sw, base, pstride, rstride, ow, out)
	np := sw.nb * 16
	main := ow &^ 3
	call := func(k [2]qstemFunc, b0 int, bias []int32) {
		if main > 0 {
			k[0](&base[0], pstride, rstride, sw.kh, sw.seg4, &sw.w[b0*64], sw.nb*64, &bias[b0*16], &out[b0*16], np*4, main)
		}
		if ow > main {
			k[1](&base[main*pstride], pstride, rstride, sw.kh, sw.seg4, &sw.w[b0*64], sw.nb*64, &bias[b0*16], &out[main*np+b0*16], np*4, ow-main)
		}
	}
	if int8Path == isaVNNI {
		for b0 := 0; b0 < sw.nb; b0 += 4 {
			call(qstemVNNIKernels[min(4, sw.nb-b0)-1], b0, sw.biasX)
		}
		return
	}
	for b0 := 0; b0 < sw.nb; b0++ {
		call([2]qstemFunc{qstemAVX2_4, qstemAVX2_1}, b0, sw.bias)
	}
}
