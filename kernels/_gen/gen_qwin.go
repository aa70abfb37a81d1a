package main

// int8 window kernels of the "qwin" set: the grouped convolution with few
// channels per group and the average pool.
//
// Grouped convolution with few channels per group (4, 8 or 16 input
// and output channels per group: ResNeXt's and RegNet's 3×3 convolutions)
// with AVX-512 VNNI. The GEMM path gives each group its own panel of 16 or 32
// output columns, so a 4- or 8-channel group multiplies mostly zeros; here the
// 16 lanes of a vector are 16 consecutive output channels, and for each lane
// VPERMD brings the four input bytes of its own group to it, so every
// VPDPBUSD lane does useful work.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func qwinKernels() {
	for _, nq := range []int{1, 2, 4} {
		qgroupedVNNI(nq, 4, false)
		qgroupedVNNI(nq, 1, false)
	}
	for _, nh := range []int{2, 4, 8} {
		qgroupedAVX2(nh, 4)
		qgroupedAVX2(nh, 1)
	}
	// The window forms (qgrouped_win.go): up to 24 (VNNI) or 8 (AVX2) input
	// channels per group.
	for nq := 1; nq <= 6; nq++ {
		qgroupedVNNI(nq, 4, true)
		qgroupedVNNI(nq, 1, true)
	}
	for nh := 1; nh <= 4; nh++ {
		qgroupedWinAVX2(nh, 4)
		qgroupedWinAVX2(nh, 1)
	}
	qavgRowAVX512()
	qavgRowAVX2()
}

// qgroupedVNNI generates the kernel for one 16-channel block of one output
// row, nq = channels per group / 4, px output pixels per iteration. in points
// at the block's first channel of the padded input row (u8: int8 ^ 0x80),
// pixel stride pstride bytes; tap t reads the block's 16 bytes at in + off[t]
// (VBROADCASTI32X4: the groups of a block lie in its own 16 channels). For tap t and quad q
// the 64 weight bytes at w + (t·nq + q)·64 hold, in lane j, the four weights
// of output channel j for input channels 4q..4q+3 of its group; idx + 64q
// holds the VPERMD indices (lane j: the input dword of j's group for quad q).
// out[x][j] = bias[j] + Σ_t Σ_q perm_q(in[x·pstride + off[t]]) · w[t][q], as
// int32 with pixel stride ostride bytes.
//
// win makes the window form (qgroupedWinVNNI): in points at the block's
// window, the first input channel of its first group in a layout of groups
// padded to 4q channels, and each tap loads the window's 64 bytes (16
// dwords) instead of broadcasting 16: lane j's group may lie anywhere in the
// window, so groups of 5, 6 or 10 inputs and 7 or 9 outputs fit, the output
// lanes of a block spanning several groups (nq up to 6).
func qgroupedVNNI(nq, px int, win bool) {
	name := fmt.Sprintf("qgroupedVNNI_%dx%d", nq, px)
	doc := fmt.Sprintf("%s computes one 16-channel block of an int8 grouped convolution row (%d channels per group), %d pixels at a time.", name, 4*nq, px)
	if win {
		name = fmt.Sprintf("qgroupedWinVNNI_%dx%d", nq, px)
		doc = fmt.Sprintf("%s computes one 16-channel block of an int8 grouped convolution row (up to %d channels per group, a 64-byte window), %d pixels at a time.", name, 4*nq, px)
	}
	kernel(name, "func(in *uint8, off *int64, ntaps int, pstride int, ow int, w *int8, idx *int32, bias *int32, out *int32, ostride int)", doc)
	base, off, wcur, outp, x, t, t0, pstride, ostride := RSI, RDI, R8, R10, R11, R13, RAX, RDX, RBX
	acc := func(p int) VecPhysical { return zmm(p) }
	in := func(p int) VecPhysical { return zmm(8 + p) }
	idx := func(q int) VecPhysical { return zmm(16 + q) }
	wr := func(q int) VecPhysical { return zmm(20 + q) }
	tmp := func(i int) VecPhysical { return zmm(24 + i%8) }
	if win {
		// up to six quads: indices Z16-Z21, weights Z22-Z27
		wr = func(q int) VecPhysical { return zmm(22 + q) }
		tmp = func(i int) VecPhysical { return zmm([]int{4, 5, 6, 7, 28, 29, 30, 31}[i%8]) }
	}
	loadArgs("in off out pstride ostride idx", base, off, outp, pstride, ostride, RCX)
	for q := 0; q < nq; q++ {
		VMOVDQU32(Mem{Base: RCX, Disp: 64 * q}, idx(q))
	}
	Load(Param("ow"), x)
	Label(name + "_pixel")
	Load(Param("bias"), RCX)
	VMOVDQU32(Mem{Base: RCX}, acc(0))
	for p := 1; p < px; p++ {
		VMOVDQA32(acc(0), acc(p))
	}
	Load(Param("w"), wcur)
	XORQ(t, t)
	groupedTapStart(name, px, base, off, t, t0, pstride)
	for p := 0; p < px; p++ {
		if win {
			VMOVDQU32(groupedPixel(p, 0, t0, pstride), in(p))
		} else {
			VBROADCASTI32X4(groupedPixel(p, 0, t0, pstride), in(p))
		}
	}
	for q := 0; q < nq; q++ {
		VMOVDQU32(Mem{Base: wcur, Disp: 64 * q}, wr(q))
	}
	i := 0
	for p := 0; p < px; p++ {
		for q := 0; q < nq; q++ {
			tv := tmp(i)
			i++
			VPERMD(in(p), idx(q), tv)
			vpdpbusd(wr(q), tv, acc(p))
		}
	}
	groupedTapEnd(name, wcur, t, 64*nq)
	for p := 0; p < px; p++ {
		VMOVDQU32(acc(p), Mem{Base: outp})
		ADDQ(ostride, outp)
	}
	nextPixels(name, px, base, pstride, x)
}

// qavgRowAVX512 generates the int8 average pool of one output row: for each
// of ow pixels (input pixel stride pstride bytes) and each of nblk 16-channel
// blocks, acc = Σ_t in[off[t] + c] − sub (sign-extended int32 sums; the
// padded input holds the zero point in its borders, sub = taps·zp), then
// out = clamp(acc·f[x], lo, hi) rounded half to even + zp, in float64 as the
// Go loop (VCVTPD2DQ rounds to nearest even; clamping to the integer bounds
// before rounding gives the same result as after), stored with VPMOVSDB at
// out (pixel stride ostride bytes).
func qavgRowAVX512() {
	name := "qavgRowAVX512"
	kernel(name, "func(in *int8, off *int64, ntaps int, pstride int, ow int, nblk int, f *float64, sub int32, lo float64, hi float64, zp int32, out *int8, ostride int)",
		name+" computes one output row of an int8 average pool, 16 channels at a time.")
	base, off, outp, x, t, t0, pstride, b, inb, ob, fp, ntaps := RSI, RDI, R10, R11, R13, RAX, RDX, R12, R9, R14, R8, RCX
	loadArgs("in off out ow pstride f ntaps", base, off, outp, x, pstride, fp, ntaps)
	Load(Param("sub"), EBX)
	NEGL(EBX)
	VPBROADCASTD(EBX, Z31)
	VBROADCASTSD(paramAddr("lo"), Z30)
	VBROADCASTSD(paramAddr("hi"), Z29)
	Load(Param("zp"), EBX)
	VPBROADCASTD(EBX, Z28)
	Label(name + "_pixel")
	VBROADCASTSD(Mem{Base: fp}, Z27)
	ADDQ(Imm(8), fp)
	MOVQ(base, inb)
	MOVQ(outp, ob)
	Load(Param("nblk"), b)
	Label(name + "_block")
	VMOVDQA32(Z31, Z0)
	XORQ(t, t)
	Label(name + "_tap")
	MOVQ(Mem{Base: off, Index: t, Scale: 8}, t0)
	VPMOVSXBD(Mem{Base: inb, Index: t0, Scale: 1}, Z1)
	VPADDD(Z1, Z0, Z0)
	INCQ(t)
	CMPQ(t, ntaps)
	JB(LabelRef(name + "_tap"))
	VEXTRACTI64X4(Imm(1), Z0, Y3)
	VCVTDQ2PD(Y0, Z2)
	VCVTDQ2PD(Y3, Z3)
	for _, v := range []VecPhysical{Z2, Z3} {
		VMULPD(Z27, v, v)
		VMAXPD(Z30, v, v)
		VMINPD(Z29, v, v)
	}
	VCVTPD2DQ(Z2, Y2)
	VCVTPD2DQ(Z3, Y3)
	VINSERTI64X4(Imm(1), Y3, Z2, Z2)
	VPADDD(Z28, Z2, Z2)
	VPMOVSDB(Z2, Mem{Base: ob})
	ADDQ(Imm(16), inb)
	ADDQ(Imm(16), ob)
	loopBack(b, name+"_block")
	ADDQ(pstride, base)
	Load(Param("ostride"), RBX)
	ADDQ(RBX, outp)
	loopBack(x, name+"_pixel")
	ret()
}

// qgroupedAVX2 is the AVX2 form of qgroupedVNNI for 8-channel blocks on
// int16 input (VPMADDWD: two products per lane, exact), nh = channels per
// group / 2. in points at the block's input: its first channel rounded down
// to a group start (pixel stride pstride bytes, tap t at in + off[t]). For
// 4 channels per group (nh = 2) the 16 bytes of the block are broadcast to
// both halves and VPERMD (indices at idx + 32h) gives lane j the h-th pair of
// its group; for 8 or 16 (a block inside one group) VPBROADCASTD reads pair h
// directly. Weights at w + (t·nh + h)·32: lane j's two int16 weights.
func qgroupedAVX2(nh, px int) {
	name := fmt.Sprintf("qgroupedAVX2_%dx%d", nh, px)
	kernel(name, "func(in *int16, off *int64, ntaps int, pstride int, ow int, w *int16, idx *int32, bias *int32, out *int32, ostride int)",
		fmt.Sprintf("%s computes one 8-channel block of an int8 grouped convolution row (%d channels per group, int16 input), %d pixels at a time.", name, 2*nh, px))
	base, off, wcur, outp, x, t, t0, pstride, ostride := RSI, RDI, R8, R10, R11, R13, RAX, RDX, RBX
	acc := func(p int) VecPhysical { return ymm(p) }
	idx := func(h int) VecPhysical { return ymm(4 + h) }
	in := func(p int) VecPhysical { return ymm(6 + p) }
	tmp := func(i int) VecPhysical { return ymm(10 + i%6) }
	perm := nh == 2
	loadArgs("in off out pstride ostride", base, off, outp, pstride, ostride)
	if perm {
		Load(Param("idx"), RCX)
		for h := 0; h < nh; h++ {
			VMOVDQU(Mem{Base: RCX, Disp: 32 * h}, idx(h))
		}
	}
	Load(Param("ow"), x)
	Label(name + "_pixel")
	Load(Param("bias"), RCX)
	VMOVDQU(Mem{Base: RCX}, acc(0))
	for p := 1; p < px; p++ {
		VMOVDQA(acc(0), acc(p))
	}
	Load(Param("w"), wcur)
	XORQ(t, t)
	groupedTapStart(name, px, base, off, t, t0, pstride)
	pix := func(p, disp int) Mem { return groupedPixel(p, disp, t0, pstride) }
	if perm {
		for p := 0; p < px; p++ {
			VBROADCASTI128(pix(p, 0), in(p))
		}
	}
	i := 0
	for p := 0; p < px; p++ {
		for h := 0; h < nh; h++ {
			tv := tmp(i)
			i++
			if perm {
				VPERMD(in(p), idx(h), tv)
			} else {
				VPBROADCASTD(pix(p, 4*h), tv)
			}
			VPMADDWD(Mem{Base: wcur, Disp: 32 * h}, tv, tv)
			VPADDD(tv, acc(p), acc(p))
		}
	}
	groupedTapEnd(name, wcur, t, 32*nh)
	for p := 0; p < px; p++ {
		VMOVDQU(acc(p), Mem{Base: outp})
		ADDQ(ostride, outp)
	}
	nextPixels(name, px, base, pstride, x)
}

// qgroupedWinAVX2 is the window form of the grouped kernel on AVX2 (see
// qgroupedVNNI) for 8-channel blocks on int16 input (VPMADDWD: exact), nh =
// input channels per group rounded up to 2, halved. in points at the block's
// window (the first channel of its first group, groups padded to 2·nh
// channels); each tap loads the window's 32 bytes (8 dwords of two channels)
// and VPERMD (indices at idx + 32h) gives lane j the h-th pair of its group.
// Weights at w + (t·nh + h)·32: lane j's two int16 weights.
func qgroupedWinAVX2(nh, px int) {
	name := fmt.Sprintf("qgroupedWinAVX2_%dx%d", nh, px)
	kernel(name, "func(in *int16, off *int64, ntaps int, pstride int, ow int, w *int16, idx *int32, bias *int32, out *int32, ostride int)",
		fmt.Sprintf("%s computes one 8-channel block of an int8 grouped convolution row (up to %d channels per group, int16 input, a 32-byte window), %d pixels at a time.", name, 2*nh, px))
	base, off, wcur, outp, x, t, t0, pstride, ostride := RSI, RDI, R8, R10, R11, R13, RAX, RDX, RBX
	acc := func(p int) VecPhysical { return ymm(p) }
	idx := func(h int) VecPhysical { return ymm(4 + h) }
	in := func(p int) VecPhysical { return ymm(8 + p%2) }
	tmp := func(i int) VecPhysical { return ymm(10 + i%6) }
	loadArgs("in off out pstride ostride", base, off, outp, pstride, ostride)
	Load(Param("idx"), RCX)
	for h := 0; h < nh; h++ {
		VMOVDQU(Mem{Base: RCX, Disp: 32 * h}, idx(h))
	}
	Load(Param("ow"), x)
	Label(name + "_pixel")
	Load(Param("bias"), RCX)
	VMOVDQU(Mem{Base: RCX}, acc(0))
	for p := 1; p < px; p++ {
		VMOVDQA(acc(0), acc(p))
	}
	Load(Param("w"), wcur)
	XORQ(t, t)
	groupedTapStart(name, px, base, off, t, t0, pstride)
	i := 0
	for p := 0; p < px; p++ {
		VMOVDQU(groupedPixel(p, 0, t0, pstride), in(p))
		for h := 0; h < nh; h++ {
			tv := tmp(i)
			i++
			VPERMD(in(p), idx(h), tv)
			VPMADDWD(Mem{Base: wcur, Disp: 32 * h}, tv, tv)
			VPADDD(tv, acc(p), acc(p))
		}
	}
	groupedTapEnd(name, wcur, t, 32*nh)
	for p := 0; p < px; p++ {
		VMOVDQU(acc(p), Mem{Base: outp})
		ADDQ(ostride, outp)
	}
	nextPixels(name, px, base, pstride, x)
}

// qavgRowAVX2 is qavgRowAVX512 with 8-channel blocks on AVX2 (nblk blocks of
// 8 channels per pixel; the result packed with VPACKSSDW/VPACKSSWB).
func qavgRowAVX2() {
	name := "qavgRowAVX2"
	kernel(name, "func(in *int8, off *int64, ntaps int, pstride int, ow int, nblk int, f *float64, sub int32, lo float64, hi float64, zp int32, out *int8, ostride int)",
		name+" computes one output row of an int8 average pool, 8 channels at a time.")
	base, off, outp, x, t, t0, pstride, b, inb, ob, fp, ntaps := RSI, RDI, R10, R11, R13, RAX, RDX, R12, R9, R14, R8, RCX
	loadArgs("in off out ow pstride f ntaps", base, off, outp, x, pstride, fp, ntaps)
	Load(Param("sub"), EBX)
	NEGL(EBX)
	MOVD(EBX, X15)
	VPBROADCASTD(X15, Y15)
	VBROADCASTSD(paramAddr("lo"), Y14)
	VBROADCASTSD(paramAddr("hi"), Y13)
	Load(Param("zp"), EBX)
	MOVD(EBX, X12)
	VPBROADCASTD(X12, Y12)
	Label(name + "_pixel")
	VBROADCASTSD(Mem{Base: fp}, Y11)
	ADDQ(Imm(8), fp)
	MOVQ(base, inb)
	MOVQ(outp, ob)
	Load(Param("nblk"), b)
	Label(name + "_block")
	VMOVDQA(Y15, Y0)
	XORQ(t, t)
	Label(name + "_tap")
	MOVQ(Mem{Base: off, Index: t, Scale: 8}, t0)
	VPMOVSXBD(Mem{Base: inb, Index: t0, Scale: 1}, Y1)
	VPADDD(Y1, Y0, Y0)
	INCQ(t)
	CMPQ(t, ntaps)
	JB(LabelRef(name + "_tap"))
	VEXTRACTI128(Imm(1), Y0, X3)
	VCVTDQ2PD(X0, Y2)
	VCVTDQ2PD(X3, Y3)
	for _, v := range []VecPhysical{Y2, Y3} {
		VMULPD(Y11, v, v)
		VMAXPD(Y14, v, v)
		VMINPD(Y13, v, v)
	}
	VCVTPD2DQY(Y2, X2)
	VCVTPD2DQY(Y3, X3)
	VINSERTI128(Imm(1), X3, Y2, Y2)
	VPADDD(Y12, Y2, Y2)
	packStore8(Y2, Y4, Mem{Base: ob})
	ADDQ(Imm(8), inb)
	ADDQ(Imm(8), ob)
	loopBack(b, name+"_block")
	ADDQ(pstride, base)
	Load(Param("ostride"), RBX)
	ADDQ(RBX, outp)
	loopBack(x, name+"_pixel")
	ret()
}

// groupedTapStart opens the tap loop of the grouped kernels: t0 = base +
// off[t], the tap's first pixel, and for four pixels R14 = t0 + 2·pstride
// (pixel 2), so that groupedPixel addresses all four without more adds.
func groupedTapStart(name string, px int, base, off, t, t0, pstride GPPhysical) {
	Label(name + "_tap")
	MOVQ(Mem{Base: off, Index: t, Scale: 8}, t0)
	ADDQ(base, t0)
	if px == 4 {
		LEAQ(Mem{Base: t0, Index: pstride, Scale: 2}, R14) // pixel 2
	}
}

// groupedPixel is the address disp bytes into pixel p of the current tap
// (see groupedTapStart).
func groupedPixel(p, disp int, t0, pstride GPPhysical) Mem {
	switch p {
	case 0:
		return Mem{Base: t0, Disp: disp}
	case 1:
		return Mem{Base: t0, Index: pstride, Scale: 1, Disp: disp}
	case 2:
		return Mem{Base: R14, Disp: disp}
	}
	return Mem{Base: R14, Index: pstride, Scale: 1, Disp: disp}
}

// groupedTapEnd advances the weights by one tap's step bytes and loops while
// t < ntaps.
func groupedTapEnd(name string, wcur, t GPPhysical, step int) {
	ADDQ(U32(step), wcur)
	INCQ(t)
	Load(Param("ntaps"), RCX)
	CMPQ(t, RCX)
	JB(LabelRef(name + "_tap"))
}
