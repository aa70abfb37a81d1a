package main

// Row passes of the int8 executor's LayerNorm and Softmax (QLayerNorm,
// QSoftmax) on AVX2. Both ran as scalar Go loops, one element at a time with a
// float32 division and a float64 round per output: on Swin-T they were 25 of
// the int8 model's ~72 ms at 1 thread, three times the float32 executor's
// LayerNorm and Softmax. The arithmetic is the Go reference's, operation by
// operation (no FMA), so that the vector path gives the same codes:
//
//   - qrowStatsAVX2: Σq and Σq² of a row of int8 codes, exact in int32 lanes
//     (VPMADDWD of the sign-extended codes by ones and by themselves);
//   - qrowNormAVX2: ((float32(q) − mean)·a)·scale[i] + bias[i], then the
//     requantization of QuantizeF32 (VDIVPS, clamp, round half to even, + zp);
//   - qrowExpSumAVX2: table[m − q] (VGATHERDPS from the 256 exponentials of
//     the codes' distances to the row maximum) stored as float32, and their sum;
//   - qrowScaleQuantAVX2: the requantization of QuantizeF32 of x·c;
//   - qrowMaxI8AVX2: the largest code of a row (VPMAXSB).

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// qrowKernels is called from main.
func qrowKernels() {
	qrowStatsAVX2()
	qrowNormAVX2()
	qrowExpSumAVX2()
	qrowScaleQuantAVX2()
	qrowMaxI8AVX2()
}

// hsumD leaves in the low lane of x (the xmm half of y) the sum of y's eight
// int32 lanes; t is scratch.
func hsumD(y, t VecPhysical) {
	x, xt := y.AsX(), t.AsX()
	VEXTRACTI128(Imm(1), y, xt)
	VPADDD(xt, x, x)
	VPSHUFD(Imm(0x4e), x, xt)
	VPADDD(xt, x, x)
	VPSHUFD(Imm(0xb1), x, xt)
	VPADDD(xt, x, x)
}

// qrowStatsAVX2(src, n, out): out[0] = Σ src[i], out[1] = Σ src[i]², n a
// multiple of 16 (at most 65536, so that Σq² stays within int32).
func qrowStatsAVX2() {
	kernel("qrowStatsAVX2", "func(src *int8, n int, out *[2]int32)",
		"qrowStatsAVX2 stores the sum and the sum of squares of n int8 (a multiple of 16, at most 65536) in out.")
	src, n, out := RSI, RCX, RDI
	loadArgs("src n out", src, n, out)
	VPXOR(Y0, Y0, Y0) // Σq, int32 lanes
	VPXOR(Y1, Y1, Y1) // Σq²
	VPCMPEQW(Y15, Y15, Y15)
	VPSRLW(Imm(15), Y15, Y15) // int16 ones
	SHRQ(Imm(4), n)
	JZ(LabelRef("qst_done"))
	Label("qst_loop")
	VPMOVSXBW(Mem{Base: src}, Y2)
	VPMADDWD(Y2, Y2, Y3)
	VPADDD(Y3, Y1, Y1)
	VPMADDWD(Y15, Y2, Y3)
	VPADDD(Y3, Y0, Y0)
	ADDQ(Imm(16), src)
	loopBack(n, "qst_loop")
	Label("qst_done")
	hsumD(Y0, Y4)
	hsumD(Y1, Y4)
	VMOVD(X0, Mem{Base: out})
	VMOVD(X1, Mem{Base: out, Disp: 4})
	ret()
}

// qrowNormAVX2(dst, src, scale, bias, n, p): dst[i] = quantize(((float32(src[i])
// − mean)·a)·scale[i] + bias[i]) with p = [bits(mean), bits(a), bits(yScale),
// bits(−128 − zp), bits(127 − zp), zp]; n a multiple of 8.
func qrowNormAVX2() {
	kernel("qrowNormAVX2", "func(dst *int8, src *int8, scale *float32, bias *float32, n int, p *[6]int32)",
		"qrowNormAVX2 normalizes and requantizes n int8 (a multiple of 8) as the int8 LayerNorm's Go loop.")
	dst, src, sc, bi, n, p := RDI, RSI, R8, R9, RCX, RDX
	loadArgs("dst src scale bias n p", dst, src, sc, bi, n, p)
	VBROADCASTSS(Mem{Base: p}, Y8)            // mean
	VBROADCASTSS(Mem{Base: p, Disp: 4}, Y9)   // a
	VBROADCASTSS(Mem{Base: p, Disp: 8}, Y10)  // yScale
	VBROADCASTSS(Mem{Base: p, Disp: 12}, Y11) // lo
	VBROADCASTSS(Mem{Base: p, Disp: 16}, Y12) // hi
	VPBROADCASTD(Mem{Base: p, Disp: 20}, Y13) // zp
	blocks("qnm", n, 3, nil, func() {
		VPMOVSXBD(Mem{Base: src}, Y0)
		VCVTDQ2PS(Y0, Y0)
		VSUBPS(Y8, Y0, Y0)
		VMULPS(Y9, Y0, Y0)
		VMULPS(Mem{Base: sc}, Y0, Y0)
		VADDPS(Mem{Base: bi}, Y0, Y0)
		VDIVPS(Y10, Y0, Y0)
		clampCvtZP(Y0, Y11, Y12, Y13)
		packStore8(Y0, Y1, Mem{Base: dst})
		ADDQ(Imm(8), src)
		ADDQ(Imm(8), dst)
		ADDQ(Imm(32), sc)
		ADDQ(Imm(32), bi)
	})
}

// qrowExpSumAVX2(dst, src, table, n, m) = Σ dst[i] after dst[i] = table[m −
// src[i]] (m the row maximum, so m − src[i] is in [0, 255]); n a multiple of 8.
// The sum is accumulated in eight lanes, reduced at the end.
func qrowExpSumAVX2() {
	kernel("qrowExpSumAVX2", "func(dst *float32, src *int8, table *float32, n int, m int32) float32",
		"qrowExpSumAVX2 looks up n int8 (a multiple of 8) distances to the row maximum m in table, stores them and returns their sum.")
	dst, src, tb, n, m := RDI, RSI, RDX, RCX, RAX
	loadArgs("dst src table n m", dst, src, tb, n, m)
	VMOVD(EAX, X14)
	VPBROADCASTD(X14, Y14) // m
	VXORPS(Y0, Y0, Y0)     // sum
	SHRQ(Imm(3), n)
	JZ(LabelRef("qes_done"))
	Label("qes_loop")
	VPMOVSXBD(Mem{Base: src}, Y1)
	VPSUBD(Y1, Y14, Y1) // m − q
	VPCMPEQD(Y2, Y2, Y2)
	VGATHERDPS(Y2, Mem{Base: tb, Index: Y1, Scale: 4}, Y3)
	VMOVUPS(Y3, Mem{Base: dst})
	VADDPS(Y3, Y0, Y0)
	ADDQ(Imm(8), src)
	ADDQ(Imm(32), dst)
	loopBack(n, "qes_loop")
	Label("qes_done")
	reduceLanes(false, 0, func(a, b, d Op) { VADDPS(a, b, d) })
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

// qrowScaleQuantAVX2(in, out, n, p): out[i] = quantize(in[i]·c) with p =
// [bits(c), bits(yScale), bits(−128 − zp), bits(127 − zp), zp]; n a multiple
// of 8.
func qrowScaleQuantAVX2() {
	kernel("qrowScaleQuantAVX2", "func(in *float32, out *int8, n int, p *[5]int32)",
		"qrowScaleQuantAVX2 quantizes n float32 (a multiple of 8) times a constant to int8 as QuantizeF32.")
	in, out, n, p := RSI, RDI, RCX, RDX
	loadArgs("in out n p", in, out, n, p)
	VBROADCASTSS(Mem{Base: p}, Y7)            // c
	VBROADCASTSS(Mem{Base: p, Disp: 4}, Y8)   // yScale
	VBROADCASTSS(Mem{Base: p, Disp: 8}, Y9)   // lo
	VBROADCASTSS(Mem{Base: p, Disp: 12}, Y10) // hi
	VPBROADCASTD(Mem{Base: p, Disp: 16}, Y11) // zp
	blocks("qsq", n, 3, nil, func() {
		VMULPS(Mem{Base: in}, Y7, Y0)
		VDIVPS(Y8, Y0, Y0)
		clampCvtZP(Y0, Y9, Y10, Y11)
		packStore8(Y0, Y1, Mem{Base: out})
		ADDQ(Imm(32), in)
		ADDQ(Imm(8), out)
	})
}

// qrowMaxI8AVX2(src, n) = max src[i] for n ≥ 16: the last 16 bytes first,
// then n/16 blocks from the start (the overlap is harmless for a maximum).
func qrowMaxI8AVX2() {
	kernel("qrowMaxI8AVX2", "func(src *int8, n int) int32",
		"qrowMaxI8AVX2 returns the largest of n int8 (n at least 16).")
	src, n := RSI, RCX
	loadArgs("src n", src, n)
	VMOVDQU(Mem{Base: src, Index: n, Scale: 1, Disp: -16}, X0)
	SHRQ(Imm(4), n)
	Label("qmx_loop")
	VPMAXSB(Mem{Base: src}, X0, X0)
	ADDQ(Imm(16), src)
	loopBack(n, "qmx_loop")
	for _, sh := range []uint64{8, 4, 2, 1} {
		VPSRLDQ(Imm(sh), X0, X1)
		VPMAXSB(X1, X0, X0)
	}
	VPEXTRB(Imm(0), X0, EAX)
	MOVBLSX(AL, EAX)
	Store(EAX, ReturnIndex(0))
	RET()
}
