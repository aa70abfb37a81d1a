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
	r := requantArgs(R11)
	VPBROADCASTD(Mem{Base: r.cs}, Y13)           // zp
	VBROADCASTSS(Mem{Base: r.cs, Disp: 12}, Y14) // lo
	VBROADCASTSS(Mem{Base: r.cs, Disp: 16}, Y15) // hi
	scale := R10
	r.loops("rqf", "scale", []GPPhysical{scale}, func() {
		VCVTDQ2PS(Mem{Base: r.src, Index: RAX, Scale: 4}, Y0)
		VMULPS(Mem{Base: scale}, Y0, Y0)
		clampCvtZP(Y0, Y14, Y15, Y13)
		packStore8(Y0, Y1, Mem{Base: r.dst, Index: RAX, Scale: 1})
	})
}

// requantFixedAVX2: TFLite double rounding, vectorised:
// x <<= max(shift,0); SRDHM via two VPMULDQ ((x·m + 2^30) >> 31, INT_MIN·INT_MIN -> INT_MAX);
// rounding right shift by max(-shift,0) (ties away from zero); clamp to
// [Min-zp, Max-zp]; + zp. consts = [zp, Min-zp, Max-zp].
func requantFixedAVX2() {
	kernel("requantFixedAVX2", "func"+requantSig+"mult *int32, shift *int32, consts *[8]int32)",
		"requantFixedAVX2 requantizes int32 rows to int8 with per-channel fixed-point multipliers (TFLite double rounding).")
	r := requantArgs(R12)
	VPBROADCASTD(Mem{Base: r.cs}, Y13)          // zp
	VPBROADCASTD(Mem{Base: r.cs, Disp: 4}, Y14) // lo - zp
	VPBROADCASTD(Mem{Base: r.cs, Disp: 8}, Y15) // hi - zp
	VPCMPEQD(Y12, Y12, Y12)                     // -1
	VPSLLD(Imm(31), Y12, Y11)                   // INT_MIN lanes
	VPSRLQ(Imm(34), Y12, Y10)                   // 2^30 in each qword: (2^64-1)>>34 = 2^30-1 ... fixed below
	VPSRLQ(Imm(63), Y12, Y9)                    // qword 1
	VPADDQ(Y9, Y10, Y10)                        // 2^30
	VPSRLD(Imm(31), Y12, Y9)                    // dword 1
	mult, shift := R10, R11
	r.loops("rqx", "mult shift", []GPPhysical{mult, shift}, func() {
		VMOVDQU(Mem{Base: r.src, Index: RAX, Scale: 4}, Y0)
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
		packStore8(Y4, Y5, Mem{Base: r.dst, Index: RAX, Scale: 1})
	})
}

// requantRegs are the registers of the arguments the requantization kernels
// share (requantSig) and of their consts pointer.
type requantRegs struct{ src, sstride, dst, dstride, rows, n8, cs GPPhysical }

func requantArgs(cs GPPhysical) requantRegs {
	r := requantRegs{RSI, RBX, RDI, RDX, R8, R9, cs}
	loadArgs("src sstride dst dstride rows n8 consts", r.src, r.sstride, r.dst, r.dstride, r.rows, r.n8, r.cs)
	return r
}

// loops emits the row and column loops of a requantization kernel and its
// return: per row, the per-channel pointers chans are reloaded from the
// arguments chanArgs, and RAX walks the row 8 values at a time (the int8
// offset in dst; the int32 one in src is 4·RAX); col emits one step, after
// which chans advance by 8 values (32 bytes).
func (r requantRegs) loops(prefix, chanArgs string, chans []GPPhysical, col func()) {
	Label(prefix + "_row")
	regs := make([]Register, len(chans))
	for i, c := range chans {
		regs[i] = c
	}
	loadArgs(chanArgs, regs...)
	XORQ(RAX, RAX)
	MOVQ(r.n8, RCX)
	Label(prefix + "_col")
	col()
	for _, c := range chans {
		ADDQ(Imm(32), c)
	}
	ADDQ(Imm(8), RAX)
	loopBack(RCX, prefix+"_col")
	ADDQ(r.sstride, r.src)
	ADDQ(r.dstride, r.dst)
	loopBack(r.rows, prefix+"_row")
	ret()
}
