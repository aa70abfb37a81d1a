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

// stemInputXOR reports whether stemRow and stemRowQ read input rows XORed
// with 0x80 (the VNNI path: u8 operands).
func stemInputXOR() bool { return int8Path == isaVNNI }

// stemTakes reports whether the stem kernels run weights with a -128 (full)
// exactly: the AVX2 one is a sign trick (VPSIGNB, VPMADDUBSW) and does not;
// such a convolution takes the int16 GEMM path there instead.
func stemTakes(full bool) bool { return !full || int8Path != isaAVX2 }

// xorCopy sets dst[i] = src[i] ^ 0x80 (len(dst) >= len(src)).
func xorCopy(dst, src []int8) {
	n := len(src) &^ 31
	_ = dst[:len(src)]
	if n > 0 && simdPath != isaGo {
		xorCopyAVX2(&dst[0], &src[0], n)
	} else {
		n = 0
	}
	for i := n; i < len(src); i++ {
		dst[i] = src[i] ^ -128
	}
}

// stemRow computes one output row of a stem convolution (see stemRowGo) with
// the kernels of the int8 path: VNNI on up to 4 blocks per call (on rows
// XORed with 0x80: stemInputXOR), AVX2 on one.
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

type qstemFusedFunc func(in *int8, pstride int, rstride int, kh int, seg4 int, w *int8, wstep int, bias *int32, ep *int64, ow int)

var qstemVNNIQKernels = [4][2]qstemFusedFunc{
	{qstemVNNIQ_1x4, qstemVNNIQ_1x1},
	{qstemVNNIQ_2x4, qstemVNNIQ_2x1},
	{qstemVNNIQ_3x4, qstemVNNIQ_3x1},
	{qstemVNNIQ_4x4, qstemVNNIQ_4x1},
}

// stemEpi is the fused epilogue of the qstemVNNIQ kernels (field offsets
// are fixed by gen_qstem.go).
type stemEpi struct {
	mode   int64 // unused (kept so that the layout starts as qEpi's)
	out    *int8
	ldo    int64
	scale  *float32
	zp     int32
	lo, hi float32 // float32(Min - zp), float32(Max - zp)
	mask   [4]uint16
}

// stemFused reports whether stemRowQ runs for p: the VNNI path and float
// requantization (the fixed-point mode requantizes the int32 row).
func stemFused(p *rqParams) bool {
	return int8Path == isaVNNI && p.mode == RequantFloat
}

// stemRowQ computes one output row like stemRow and requantizes it into out
// (pixel stride ldo = OC) in the same kernel; scale is p.scale padded to
// nb·16 values.
func stemRowQ(sw *stemWeights, base []int8, pstride, rstride, ow int, p *rqParams, scale []float32, out []int8) {
	stemRowCheck(sw, base, pstride, rstride, ow, nil)
	_ = out[(ow-1)*sw.oc+sw.oc-1]
	_ = scale[sw.nb*16-1]
	main := ow &^ 3
	for b0 := 0; b0 < sw.nb; b0 += 4 {
		nb := min(4, sw.nb-b0)
		ep := stemEpi{ldo: int64(sw.oc), scale: &scale[b0*16], zp: p.zp, lo: float32(p.lo - p.zp), hi: float32(p.hi - p.zp)}
		for b := 0; b < nb; b++ {
			lanes := min(16, sw.oc-16*(b0+b))
			ep.mask[b] = uint16(1<<lanes - 1)
		}
		k := qstemVNNIQKernels[nb-1]
		if main > 0 {
			ep.out = &out[b0*16]
			k[0](&base[0], pstride, rstride, sw.kh, sw.seg4, &sw.w[b0*64], sw.nb*64, &sw.biasX[b0*16], &ep.mode, main)
		}
		if ow > main {
			ep.out = &out[main*sw.oc+b0*16]
			k[1](&base[main*pstride], pstride, rstride, sw.kh, sw.seg4, &sw.w[b0*64], sw.nb*64, &sw.biasX[b0*16], &ep.mode, ow-main)
		}
	}
}
