package main

// Requantization of int32 accumulators to int8: float and fixed-point (gemmlowp).

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

const requantSig = "(src *int32, sstride int, dst *int8, dstride int, rows int, n8 int, "

// requantFloatAVX2: dst = int8(cvtps2dq(min(max(cvtdq2ps(src)*scale, lo), hi)) + zp)
// over rows×(8·n8) values; consts = [zp, -, -, float32bits(Min-zp), float32bits(Max-zp)].
func requantFloatAVX2() {
	kernel("requantFloatAVX2", "func"+requantSig+"scale *float32, consts *[8]int32)",
		"requantFloatAVX2 requantizes int32 rows to int8 with a per-channel float32 scale (MLAS rounding).")
	src, sstride, dst, dstride, rows, n8, scale, cs := RSI, RBX, RDI, RDX, R8, R9, R10, R11
	loadArgs("src sstride dst dstride rows n8 consts", src, sstride, dst, dstride, rows, n8, cs)
	VPBROADCASTD(Mem{Base: cs}, Y13)           // zp
	VBROADCASTSS(Mem{Base: cs, Disp: 12}, Y14) // lo
	VBROADCASTSS(Mem{Base: cs, Disp: 16}, Y15) // hi
	Label("rqf_row")
	Load(Param("scale"), scale)
	XORQ(RAX, RAX) // column byte offset in dst (int32 offset = 4*RAX)
	MOVQ(n8, RCX)
	Label("rqf_col")
	VCVTDQ2PS(Mem{Base: src, Index: RAX, Scale: 4}, Y0)
	VMULPS(Mem{Base: scale}, Y0, Y0)
	VMAXPS(Y14, Y0, Y0)
	VMINPS(Y15, Y0, Y0)
	VCVTPS2DQ(Y0, Y0)
	VPADDD(Y13, Y0, Y0)
	packStore8(Y0, X0, Y1, X1, Mem{Base: dst, Index: RAX, Scale: 1})
	ADDQ(Imm(32), scale)
	ADDQ(Imm(8), RAX)
	DECQ(RCX)
	JNZ(LabelRef("rqf_col"))
	ADDQ(sstride, src)
	ADDQ(dstride, dst)
	DECQ(rows)
	JNZ(LabelRef("rqf_row"))
	ret()
}

// requantFixedAVX2: TFLite double rounding, vectorised:
// x <<= max(shift,0); SRDHM via two VPMULDQ ((x·m + 2^30) >> 31, INT_MIN·INT_MIN -> INT_MAX);
// rounding right shift by max(-shift,0) (ties away from zero); clamp to
// [Min-zp, Max-zp]; + zp. consts = [zp, Min-zp, Max-zp].
func requantFixedAVX2() {
	kernel("requantFixedAVX2", "func"+requantSig+"mult *int32, shift *int32, consts *[8]int32)",
		"requantFixedAVX2 requantizes int32 rows to int8 with per-channel fixed-point multipliers (TFLite double rounding).")
	src, sstride, dst, dstride, rows, n8, mult, shift, cs := RSI, RBX, RDI, RDX, R8, R9, R10, R11, R12
	loadArgs("src sstride dst dstride rows n8 consts", src, sstride, dst, dstride, rows, n8, cs)
	VPBROADCASTD(Mem{Base: cs}, Y13)          // zp
	VPBROADCASTD(Mem{Base: cs, Disp: 4}, Y14) // lo - zp
	VPBROADCASTD(Mem{Base: cs, Disp: 8}, Y15) // hi - zp
	VPCMPEQD(Y12, Y12, Y12)                   // -1
	VPSLLD(Imm(31), Y12, Y11)                 // INT_MIN lanes
	VPSRLQ(Imm(34), Y12, Y10)                 // 2^30 in each qword: (2^64-1)>>34 = 2^30-1 ... fixed below
	VPSRLQ(Imm(63), Y12, Y9)                  // qword 1
	VPADDQ(Y9, Y10, Y10)                      // 2^30
	VPSRLD(Imm(31), Y12, Y9)                  // dword 1
	Label("rqx_row")
	loadArgs("mult shift", mult, shift)
	XORQ(RAX, RAX)
	MOVQ(n8, RCX)
	Label("rqx_col")
	VMOVDQU(Mem{Base: src, Index: RAX, Scale: 4}, Y0)
	VMOVDQU(Mem{Base: mult}, Y1)
	VMOVDQU(Mem{Base: shift}, Y2)
	VPXOR(Y3, Y3, Y3)
	VPMAXSD(Y3, Y2, Y3) // left = max(shift, 0)
	VPSUBD(Y2, Y3, Y2)  // right = left - shift
	VPSLLVD(Y3, Y0, Y0) // x <<= left
	VPMULDQ(Y1, Y0, Y4) // even lanes: x·m (64-bit)
	VPSRLQ(Imm(32), Y0, Y5)
	VPSRLQ(Imm(32), Y1, Y6)
	VPMULDQ(Y6, Y5, Y5) // odd lanes
	VPADDQ(Y10, Y4, Y4)
	VPADDQ(Y10, Y5, Y5)
	VPSRLQ(Imm(31), Y4, Y4) // low dword = bits 31..62
	VPSLLQ(Imm(1), Y5, Y5)  // high dword = bits 31..62
	VPBLENDD(Imm(0xAA), Y5, Y4, Y4)
	VPCMPEQD(Y11, Y0, Y5) // x == INT_MIN
	VPCMPEQD(Y11, Y1, Y6) // m == INT_MIN
	VPAND(Y6, Y5, Y5)
	VPADDD(Y5, Y4, Y4) // INT_MIN -> INT_MAX on saturation
	// rounding divide by 2^right
	VPSLLVD(Y2, Y9, Y5)     // 1 << right
	VPADDD(Y12, Y5, Y5)     // mask = (1<<right) - 1
	VPAND(Y4, Y5, Y6)       // rem
	VPSRAD(Imm(1), Y5, Y5)  // mask >> 1
	VPSRAD(Imm(31), Y4, Y7) // -1 if negative
	VPSUBD(Y7, Y5, Y5)      // thr
	VPSRAVD(Y2, Y4, Y4)     // x >> right
	VPCMPGTD(Y5, Y6, Y6)    // rem > thr
	VPSUBD(Y6, Y4, Y4)
	VPMAXSD(Y14, Y4, Y4)
	VPMINSD(Y15, Y4, Y4)
	VPADDD(Y13, Y4, Y4)
	packStore8(Y4, X4, Y5, X5, Mem{Base: dst, Index: RAX, Scale: 1})
	ADDQ(Imm(32), mult)
	ADDQ(Imm(32), shift)
	ADDQ(Imm(8), RAX)
	DECQ(RCX)
	JNZ(LabelRef("rqx_col"))
	ADDQ(sstride, src)
	ADDQ(dstride, dst)
	DECQ(rows)
	JNZ(LabelRef("rqx_row"))
	ret()
}
