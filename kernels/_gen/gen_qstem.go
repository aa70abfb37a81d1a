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

func qstemKernels() {
	for nb := 1; nb <= 4; nb++ {
		qstemVNNI(nb, 4)
		qstemVNNI(nb, 1)
	}
	qstemAVX2(4)
	qstemAVX2(1)
}

// qstemVNNI generates the AVX-512 VNNI stem kernel for nb 16-channel blocks,
// px output pixels per iteration (ow a multiple of px): every broadcast input
// dword is XORed with 0x80 in registers (s8 → u8, as qgemmVNNI), so bias
// carries the −128·Σw compensation.
func qstemVNNI(nb, px int) {
	name := fmt.Sprintf("qstemVNNI_%dx%d", nb, px)
	kernel(name, qstemSig, fmt.Sprintf("%s computes an int8 stem convolution row for %d block(s) of 16 output channels, %d pixel(s) at a time (AVX-512 VNNI).", name, nb, px))
	in, ps, ps3, row, wp, a, outp, kc, dc, wstep, x := RSI, RBX, RDX, R8, R9, R10, R11, R12, R13, R14, RCX
	acc := func(p, b int) VecPhysical { return zmm(p*nb + b) }
	t := func(p int) VecPhysical { return zmm(16 + p) }
	wr := func(b int) VecPhysical { return zmm(20 + b) }
	loadArgs("in pstride out wstep ow", in, ps, outp, wstep, x)
	LEAQ(Mem{Base: ps, Index: ps, Scale: 2}, ps3)
	MOVL(U32(0x80808080), EAX)
	VPBROADCASTD(EAX, Z31)
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
	MOVQ(in, row)
	Load(Param("w"), wp)
	Load(Param("kh"), kc)
	Label(name + "_row")
	MOVQ(row, a)
	Load(Param("seg4"), dc)
	Label(name + "_step")
	for b := 0; b < nb; b++ {
		VMOVDQU32(Mem{Base: wp, Disp: 64 * b}, wr(b))
	}
	for p := 0; p < px; p++ {
		VPBROADCASTD(rowAddr(p, []GPPhysical{a}, ps, ps3), t(p))
		VPXORD(Z31, t(p), t(p))
	}
	for p := 0; p < px; p++ {
		for b := 0; b < nb; b++ {
			vpdpbusd(wr(b), t(p), acc(p, b))
		}
	}
	ADDQ(Imm(4), a)
	ADDQ(wstep, wp)
	loopBack(dc, name+"_step")
	Load(Param("rstride"), RAX)
	ADDQ(RAX, row)
	loopBack(kc, name+"_row")
	Load(Param("ostride"), RAX)
	for p := 0; p < px; p++ {
		for b := 0; b < nb; b++ {
			VMOVDQU32(acc(p, b), Mem{Base: outp, Disp: 64 * b})
		}
		ADDQ(RAX, outp)
	}
	if px == 4 {
		LEAQ(Mem{Base: in, Index: ps, Scale: 4}, in)
	} else {
		ADDQ(ps, in)
	}
	SUBQ(Imm(uint64(px)), x)
	JNZ(LabelRef(name + "_pixel"))
	ret()
}

// qstemAVX2 generates the AVX2 stem kernel for one 16-channel block (two
// 8-channel halves), px pixels per iteration, with the sign trick of
// qgemmAVX2 (exact for weights in [−127, 127]) on the signed input bytes:
// bias carries no XOR compensation.
func qstemAVX2(px int) {
	name := fmt.Sprintf("qstemAVX2_%d", px)
	kernel(name, qstemSig, fmt.Sprintf("%s computes an int8 stem convolution row for one block of 16 output channels, %d pixel(s) at a time (AVX2).", name, px))
	in, ps, ps3, row, wp, a, outp, kc, dc, wstep, x := RSI, RBX, RDX, R8, R9, R10, R11, R12, R13, R14, RCX
	acc := func(p, h int) VecPhysical { return ymm(2*p + h) }
	loadArgs("in pstride out wstep ow", in, ps, outp, wstep, x)
	LEAQ(Mem{Base: ps, Index: ps, Scale: 2}, ps3)
	int16Ones()
	Label(name + "_pixel")
	Load(Param("bias"), RAX)
	VMOVDQU(Mem{Base: RAX}, acc(0, 0))
	VMOVDQU(Mem{Base: RAX, Disp: 32}, acc(0, 1))
	for p := 1; p < px; p++ {
		VMOVDQA(acc(0, 0), acc(p, 0))
		VMOVDQA(acc(0, 1), acc(p, 1))
	}
	MOVQ(in, row)
	Load(Param("w"), wp)
	Load(Param("kh"), kc)
	Label(name + "_row")
	MOVQ(row, a)
	Load(Param("seg4"), dc)
	Label(name + "_step")
	VMOVDQU(Mem{Base: wp}, Y8)
	VMOVDQU(Mem{Base: wp, Disp: 32}, Y9)
	for p := 0; p < px; p++ {
		VPBROADCASTD(rowAddr(p, []GPPhysical{a}, ps, ps3), Y11)
		VPABSB(Y11, Y12)
		signTrickMAC(Y11, Y12, Y8, Y13, acc(p, 0))
		signTrickMAC(Y11, Y12, Y9, Y13, acc(p, 1))
	}
	ADDQ(Imm(4), a)
	ADDQ(wstep, wp)
	loopBack(dc, name+"_step")
	Load(Param("rstride"), RAX)
	ADDQ(RAX, row)
	loopBack(kc, name+"_row")
	Load(Param("ostride"), RAX)
	for p := 0; p < px; p++ {
		VMOVDQU(acc(p, 0), Mem{Base: outp})
		VMOVDQU(acc(p, 1), Mem{Base: outp, Disp: 32})
		ADDQ(RAX, outp)
	}
	if px == 4 {
		LEAQ(Mem{Base: in, Index: ps, Scale: 4}, in)
	} else {
		ADDQ(ps, in)
	}
	SUBQ(Imm(uint64(px)), x)
	JNZ(LabelRef(name + "_pixel"))
	ret()
}
