package main

// int8 depthwise convolution with AVX-512 VNNI: four taps of a kernel row per
// VPDPBUSD lane (see dwQuadsAVX2 for the input layout).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func dwVNNIKernels() {
	dwQuadsAVX2()
	for nb := 1; nb <= 4; nb++ {
		depthwiseVNNI(nb, 4)
		depthwiseVNNI(nb, 1)
	}
}

// dwQuadsAVX2 builds one row of the VNNI depthwise quad buffer: for each of n
// pixels and each 16-channel block, 64 bytes holding for channel j the four
// bytes (x[p][j], x[p+d][j], x[p+2d][j], x[p+3d][j]) ^ 0x80 (u8 for
// VPDPBUSD), d = dil pixels, from a row of cp-channel int8 pixels (src holds
// n+3·dil pixels).
func dwQuadsAVX2() {
	kernel("dwQuadsAVX2", "func(dst *int8, src *int8, n int, cp int, dil int)",
		"dwQuadsAVX2 builds one row of the VNNI depthwise quad buffer.")
	dst, src, n, cp, d := RDI, RSI, RCX, RDX, R8
	loadArgs("dst src n cp dil", dst, src, n, cp, d)
	IMULQ(cp, d)                                // partner byte offset
	LEAQ(Mem{Base: d, Index: d, Scale: 2}, R10) // 3·d
	MOVL(U32(0x80808080), EAX)
	MOVD(EAX, X15)
	VPBROADCASTD(X15, X15)
	rowBlocks("dwq", dst, src, n, cp, func() {
		VPXOR(Mem{Base: R9}, X15, X0)
		VPXOR(Mem{Base: R9, Index: d, Scale: 1}, X15, X1)
		VPXOR(Mem{Base: R9, Index: d, Scale: 2}, X15, X2)
		VPXOR(Mem{Base: R9, Index: R10, Scale: 1}, X15, X3)
		VPUNPCKLBW(X1, X0, X4) // a0 b0 a1 b1 ... a7 b7
		VPUNPCKHBW(X1, X0, X5) // a8 b8 ...
		VPUNPCKLBW(X3, X2, X6) // c0 d0 ...
		VPUNPCKHBW(X3, X2, X7)
		VPUNPCKLWD(X6, X4, X0) // channels 0-3
		VPUNPCKHWD(X6, X4, X1) // 4-7
		VPUNPCKLWD(X7, X5, X2) // 8-11
		VPUNPCKHWD(X7, X5, X3) // 12-15
		VMOVDQU(X0, Mem{Base: dst})
		VMOVDQU(X1, Mem{Base: dst, Disp: 16})
		VMOVDQU(X2, Mem{Base: dst, Disp: 32})
		VMOVDQU(X3, Mem{Base: dst, Disp: 48})
	})
}

// depthwiseVNNI generates the VNNI depthwise row kernel for nb 16-channel
// blocks and px output pixels per iteration on a quad buffer (pixel stride
// pstride bytes between output pixels): out[x][c] = bias[c] + Σ_g
// quads[x·pstride + off[g]] · w[g] over ngroups tap groups (weights [g][cp/16][16][4],
// group stride wstride bytes). Lanes are in channel order. ep.mode 0 stores
// the int32 row (pixel stride ostride bytes); 1 requantizes in float32 (scale
// per channel from ep.scale, consts zp/lo/hi at 32/64/96) and stores 16 int8
// per block with VPMOVSDB at ep.out (pixel stride ep.ostride).
func depthwiseVNNI(nb, px int) {
	name := fmt.Sprintf("depthwiseVNNI_%dx%d", nb, px)
	kernel(name, "func(in *int8, off *int64, ngroups int, pstride int, ow int, w *int8, wstride int, bias *int32, out *int32, ostride int, ep *int64)",
		fmt.Sprintf("%s computes %d channels of one output row of an int8 depthwise convolution, %d pixels at a time.", name, 16*nb, px))
	base, off, wcur, outp, x, g, t0, pstride := RSI, RDI, R8, R10, R11, R13, RAX, RDX
	acc := func(q, b int) VecPhysical { return zmm(q*nb + b) } // <= 16
	wr := func(b int) VecPhysical { return zmm(16 + b) }
	tmp := func(i int) VecPhysical { return zmm(20 + i%8) }
	loadArgs("in off out pstride ep", base, off, outp, pstride, RCX)
	int8Cursor(name, outp)
	Load(Param("ow"), x)
	Label(name + "_pixel")
	splatBias(RCX, nb, 1, px, 64, movesI512, acc)
	tapLoop(name+"_group", wcur, g, off, t0)
	ADDQ(base, t0)
	if px == 4 {
		LEAQ(Mem{Base: t0, Index: pstride, Scale: 2}, R14) // pixel 2
	}
	for b := 0; b < nb; b++ {
		VMOVDQU32(Mem{Base: wcur, Disp: 64 * b}, wr(b))
	}
	i := 0
	for q := 0; q < px; q++ {
		for b := 0; b < nb; b++ {
			var m Mem
			switch q {
			case 0:
				m = Mem{Base: t0, Disp: 64 * b}
			case 1:
				m = Mem{Base: t0, Index: pstride, Scale: 1, Disp: 64 * b}
			case 2:
				m = Mem{Base: R14, Disp: 64 * b}
			default:
				m = Mem{Base: R14, Index: pstride, Scale: 1, Disp: 64 * b}
			}
			t := tmp(i)
			i++
			VMOVDQU32(m, t)
			vpdpbusd(wr(b), t, acc(q, b))
		}
	}
	Load(Param("wstride"), RCX)
	ADDQ(RCX, wcur)
	INCQ(g)
	Load(Param("ngroups"), RCX)
	CMPQ(g, RCX)
	JB(LabelRef(name + "_group"))
	Load(Param("ep"), RCX)
	CMPQ(Mem{Base: RCX}, Imm(0))
	JNE(LabelRef(name + "_requant"))
	Load(Param("ostride"), RCX)
	for q := 0; q < px; q++ {
		for b := 0; b < nb; b++ {
			VMOVDQU32(acc(q, b), Mem{Base: outp, Disp: 64 * b})
		}
		ADDQ(RCX, outp)
	}
	JMP(LabelRef(name + "_next"))
	Label(name + "_requant")
	MOVQ(Mem{Base: RCX, Disp: 24}, RBX) // scale
	VPBROADCASTD(Mem{Base: RCX, Disp: 32}, Z28)
	VBROADCASTSS(Mem{Base: RCX, Disp: 64}, Z29)
	VBROADCASTSS(Mem{Base: RCX, Disp: 96}, Z30)
	for b := 0; b < nb; b++ {
		VMOVUPS(Mem{Base: RBX, Disp: 64 * b}, wr(b))
	}
	MOVQ(Mem{Base: RCX, Disp: 16}, RBX) // int8 pixel stride
	for q := 0; q < px; q++ {
		for b := 0; b < nb; b++ {
			v := acc(q, b)
			VCVTDQ2PS(v, v)
			VMULPS(wr(b), v, v)
			clampCvtZP(v, Z29, Z30, Z28)
			VPMOVSDB(v, Mem{Base: outp, Disp: 16 * b})
		}
		ADDQ(RBX, outp)
	}
	Label(name + "_next")
	nextPixels(name, px, base, pstride, x)
}
