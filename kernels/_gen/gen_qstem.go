package main

// The "qstem" set: the int8 convolution of a network's stem, whose input has
// few channels (1-4: an RGB or grey image, channels-last). The GEMM path
// pads such an input to 4 channels per pixel (a full extra pass over the
// image) and runs the implicit GEMM on it; here each output pixel reads, for
// each kernel row, the KW·C contiguous input bytes of its window directly
// from a zero-point-padded copy of the input rows, as seg4 = ⌈KW·C/4⌉
// dwords (the bytes past KW·C meet zero weights), and multiplies each
// broadcast dword with 16 output channels at a time.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// qstemSig: in points at the window of the first output pixel (first kernel
// row) in the padded input; the window of pixel x starts pstride·x bytes
// further, kernel row r rstride·r bytes further. w holds kh·seg4 steps of
// wstep bytes; a step holds, for each 16-channel block b, 64 bytes at
// w + 64b: lane j = the 4 weights of output channel 16b+j for the 4 window
// bytes of the step. out[x] (stride ostride bytes) = bias + Σ, as int32.
const qstemSig = "func(in *int8, pstride int, rstride int, kh int, seg4 int, w *int8, wstep int, bias *int32, out *int32, ostride int, ow int)"

// qstemFusedSig: as qstemSig, with the float requantization fused (ep:
// the stemEpi of qstem_amd64.go) instead of the int32 output.
const qstemFusedSig = "func(in *int8, pstride int, rstride int, kh int, seg4 int, w *int8, wstep int, bias *int32, ep *int64, ow int)"

// The registers of the stem kernels: the first pixel's window (in), the
// pixel stride and 3 times it, the current kernel row, weights and window
// bytes, the output, the kernel-row and step counters, the weight step and
// the pixels left.
var (
	qsIn, qsPs, qsPs3, qsRow, qsWp, qsA, qsOutp = RSI, RBX, RDX, R8, R9, R10, R11
	qsKc, qsDc, qsWstep, qsX                    = R12, R13, R14, RCX
)

func qstemKernels() {
	for _, fused := range []bool{false, true} {
		for nb := 1; nb <= 4; nb++ {
			qstemVNNI(nb, 4, fused)
			qstemVNNI(nb, 1, fused)
		}
	}
	qstemAVX2(4)
	qstemAVX2(1)
	xorCopyAVX2()
}

// xorCopyAVX2 copies n bytes (a multiple of 32) XORed with 0x80: the input
// rows of the VNNI stem kernels, s8 → u8 once per byte instead of once per
// broadcast.
func xorCopyAVX2() {
	kernel("xorCopyAVX2", "func(dst *int8, src *int8, n int)",
		"xorCopyAVX2 copies n bytes (a multiple of 32) XORed with 0x80.")
	loadArgs("dst src n", RDI, RSI, RCX)
	blocks("xorcopy", RCX, 5, func() {
		MOVL(U32(0x80808080), EAX)
		MOVD(EAX, X1)
		VPBROADCASTD(X1, Y1)
	}, func() {
		VPXOR(Mem{Base: RSI}, Y1, Y0)
		VMOVDQU(Y0, Mem{Base: RDI})
		ADDQ(Imm(32), RSI)
		ADDQ(Imm(32), RDI)
	})
}

// qstemVNNI generates the AVX-512 VNNI stem kernel for nb 16-channel blocks,
// px output pixels per iteration (ow a multiple of px). The input rows are
// XORed with 0x80 (s8 → u8) when they are copied (xorCopyAVX2), so bias
// carries the −128·Σw compensation. fused: the accumulators are requantized
// as qgemmVNNI's epilogue does (float32 scale, clamp, round half to even,
// zero point) and stored as int8 with VPMOVSDB under the block masks: ep
// points at {mode, out, ldo, scale, zp, lo, hi, masks[4] uint16}.
func qstemVNNI(nb, px int, fused bool) {
	name, sig := fmt.Sprintf("qstemVNNI_%dx%d", nb, px), qstemSig
	if fused {
		name, sig = fmt.Sprintf("qstemVNNIQ_%dx%d", nb, px), qstemFusedSig
	}
	kernel(name, sig, fmt.Sprintf("%s computes an int8 stem convolution row for %d block(s) of 16 output channels, %d pixel(s) at a time (AVX-512 VNNI).", name, nb, px))
	ldo := RDI
	acc := func(p, b int) VecPhysical { return zmm(p*nb + b) }
	t := func(p int) VecPhysical { return zmm(16 + p) }
	wr := func(b int) VecPhysical { return zmm(20 + b) }
	masks := []Op{K1, K2, K3, K4}
	if fused {
		loadArgs("in pstride wstep ow ep", qsIn, qsPs, qsWstep, qsX, RAX)
		MOVQ(Mem{Base: RAX, Disp: 8}, qsOutp) // out
		MOVQ(Mem{Base: RAX, Disp: 16}, ldo)   // ldo
		MOVQ(Mem{Base: RAX, Disp: 24}, qsRow) // scale
		for b := 0; b < nb; b++ {
			VMOVUPS(Mem{Base: qsRow, Disp: 64 * b}, zmm(24+b))
			KMOVW(Mem{Base: RAX, Disp: 44 + 2*b}, masks[b])
		}
		VPBROADCASTD(Mem{Base: RAX, Disp: 32}, Z28) // zp
		VBROADCASTSS(Mem{Base: RAX, Disp: 36}, Z29) // Min - zp
		VBROADCASTSS(Mem{Base: RAX, Disp: 40}, Z30) // Max - zp
	} else {
		loadArgs("in pstride out wstep ow", qsIn, qsPs, qsOutp, qsWstep, qsX)
	}
	LEAQ(Mem{Base: qsPs, Index: qsPs, Scale: 2}, qsPs3)
	Label(name + "_pixel")
	Load(Param("bias"), RAX)
	for b := 0; b < nb; b++ {
		VMOVDQU32(Mem{Base: RAX, Disp: 64 * b}, acc(0, b))
	}
	for p := 1; p < px; p++ {
		for b := 0; b < nb; b++ {
			VMOVDQA32(acc(0, b), acc(p, b))
		}
	}
	qstemWindow(name, func() {
		for b := 0; b < nb; b++ {
			VMOVDQU32(Mem{Base: qsWp, Disp: 64 * b}, wr(b))
		}
		for p := 0; p < px; p++ {
			VPBROADCASTD(rowAddr(p, []GPPhysical{qsA}, qsPs, qsPs3), t(p))
		}
		for p := 0; p < px; p++ {
			for b := 0; b < nb; b++ {
				vpdpbusd(wr(b), t(p), acc(p, b))
			}
		}
	})
	if fused {
		for p := 0; p < px; p++ {
			for b := 0; b < nb; b++ {
				v := acc(p, b)
				VCVTDQ2PS(v, v)
				VMULPS(zmm(24+b), v, v)
				clampCvtZP(v, Z29, Z30, Z28)
				VPMOVSDB(v, masks[b], Mem{Base: qsOutp, Disp: 16 * b})
			}
			ADDQ(ldo, qsOutp)
		}
	} else {
		Load(Param("ostride"), RAX)
		for p := 0; p < px; p++ {
			for b := 0; b < nb; b++ {
				VMOVDQU32(acc(p, b), Mem{Base: qsOutp, Disp: 64 * b})
			}
			ADDQ(RAX, qsOutp)
		}
	}
	qstemNext(name, px)
}

// qstemAVX2 generates the AVX2 stem kernel for one 16-channel block (two
// 8-channel halves), px pixels per iteration, with the sign trick of
// qgemmAVX2 (exact for weights in [−127, 127]) on the signed input bytes:
// bias carries no XOR compensation.
func qstemAVX2(px int) {
	name := fmt.Sprintf("qstemAVX2_%d", px)
	kernel(name, qstemSig, fmt.Sprintf("%s computes an int8 stem convolution row for one block of 16 output channels, %d pixel(s) at a time (AVX2).", name, px))
	acc := func(p, h int) VecPhysical { return ymm(2*p + h) }
	loadArgs("in pstride out wstep ow", qsIn, qsPs, qsOutp, qsWstep, qsX)
	LEAQ(Mem{Base: qsPs, Index: qsPs, Scale: 2}, qsPs3)
	int16Ones()
	Label(name + "_pixel")
	Load(Param("bias"), RAX)
	VMOVDQU(Mem{Base: RAX}, acc(0, 0))
	VMOVDQU(Mem{Base: RAX, Disp: 32}, acc(0, 1))
	for p := 1; p < px; p++ {
		VMOVDQA(acc(0, 0), acc(p, 0))
		VMOVDQA(acc(0, 1), acc(p, 1))
	}
	qstemWindow(name, func() {
		VMOVDQU(Mem{Base: qsWp}, Y8)
		VMOVDQU(Mem{Base: qsWp, Disp: 32}, Y9)
		for p := 0; p < px; p++ {
			VPBROADCASTD(rowAddr(p, []GPPhysical{qsA}, qsPs, qsPs3), Y11)
			VPABSB(Y11, Y12)
			signTrickMAC(Y11, Y12, Y8, Y13, acc(p, 0))
			signTrickMAC(Y11, Y12, Y9, Y13, acc(p, 1))
		}
	})
	Load(Param("ostride"), RAX)
	for p := 0; p < px; p++ {
		VMOVDQU(acc(p, 0), Mem{Base: qsOutp})
		VMOVDQU(acc(p, 1), Mem{Base: qsOutp, Disp: 32})
		ADDQ(RAX, qsOutp)
	}
	qstemNext(name, px)
}

// qstemWindow emits the reduction of the stem kernels over the window: kh
// kernel rows (rstride bytes apart) of seg4 steps; step emits one step, with
// a at the window bytes of pixel 0 (4 more each step) and wp at its weights
// (wstep more each step).
func qstemWindow(name string, step func()) {
	MOVQ(qsIn, qsRow)
	Load(Param("w"), qsWp)
	Load(Param("kh"), qsKc)
	Label(name + "_row")
	MOVQ(qsRow, qsA)
	Load(Param("seg4"), qsDc)
	Label(name + "_step")
	step()
	ADDQ(Imm(4), qsA)
	ADDQ(qsWstep, qsWp)
	loopBack(qsDc, name+"_step")
	ADDQ(paramAddr("rstride"), qsRow)
	loopBack(qsKc, name+"_row")
}

// qstemNext moves in to the next px pixels, loops back to name_pixel while
// pixels are left, and returns.
func qstemNext(name string, px int) {
	if px == 4 {
		LEAQ(Mem{Base: qsIn, Index: qsPs, Scale: 4}, qsIn)
	} else {
		ADDQ(qsPs, qsIn)
	}
	SUBQ(Imm(uint64(px)), qsX)
	JNZ(LabelRef(name + "_pixel"))
	ret()
}
