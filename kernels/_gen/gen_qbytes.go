package main

// The "qbytes" set: byte-wise int8 kernels of the small models' fixed costs.
//
// The channel shuffle of ShuffleNet (groups of 2) is a per-pixel interleave
// of two channel runs: y[2j] = a[j], y[2j+1] = b[j].
// The Go loop stores one 16-bit pair at a time (about 2 ns a byte on the
// 24-channel layers); here 16 pairs at a time are widened (VPMOVZXBW),
// merged and stored, the last partial run of each pixel under AVX-512 masks,
// so that no byte outside the pixel's own output is read or written.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func qbytesKernels() {
	interleavePairsAVX512()
	maxPixelsAVX512()
	copyPixelsAVX512()
	chanLUTAVX512() // gen_qchanlut.go
}

// interleavePairsAVX512 interleaves, for each of n pixels, h bytes of a
// (pixel stride sa) with h bytes of b (stride sb) into 2h bytes of y
// (stride sy): full runs of 16 pairs (h16 = h/16 of them), then the tail
// under the masks kin (input bytes) and kout (output bytes) when kin != 0.
func interleavePairsAVX512() {
	kernel("interleavePairsAVX512", "func(y *int8, sy int, a *int8, sa int, b *int8, sb int, h16 int, kin uint16, kout uint32, n int)",
		"interleavePairsAVX512 interleaves two byte runs per pixel (AVX-512 BW).")
	y, sy, a, sa, b, sb, n, c, ya, aa, ba := RDI, R8, RSI, R9, RDX, R10, RCX, R11, R12, R13, R14
	loadArgs("y sy a sa b sb n", y, sy, a, sa, b, sb, n)
	Load(Param("kin"), EAX)
	KMOVW(EAX, K1)
	Load(Param("kout"), EAX)
	KMOVD(EAX, K2)
	TESTQ(n, n)
	JZ(LabelRef("ilp_done"))
	Label("ilp_pixel")
	MOVQ(y, ya)
	MOVQ(a, aa)
	MOVQ(b, ba)
	Load(Param("h16"), c)
	TESTQ(c, c)
	JZ(LabelRef("ilp_tail"))
	Label("ilp_run")
	VPMOVZXBW(Mem{Base: aa}, Y0)
	VPMOVZXBW(Mem{Base: ba}, Y1)
	VPSLLW(Imm(8), Y1, Y1)
	VPOR(Y1, Y0, Y0)
	VMOVDQU(Y0, Mem{Base: ya})
	ADDQ(Imm(16), aa)
	ADDQ(Imm(16), ba)
	ADDQ(Imm(32), ya)
	loopBack(c, "ilp_run")
	Label("ilp_tail")
	KORTESTW(K1, K1)
	JZ(LabelRef("ilp_next"))
	VPMOVZXBW_Z(Mem{Base: aa}, K1, Y0)
	VPMOVZXBW_Z(Mem{Base: ba}, K1, Y1)
	VPSLLW(Imm(8), Y1, Y1)
	VPOR(Y1, Y0, Y0)
	VMOVDQU8(Y0, K2, Mem{Base: ya})
	Label("ilp_next")
	ADDQ(sy, y)
	ADDQ(sa, a)
	ADDQ(sb, b)
	loopBack(n, "ilp_pixel")
	Label("ilp_done")
	ret()
}

// maxPixelsAVX512 is the horizontal pass of the int8 max pool on channels-last
// rows (pool_rows.go): for each of n output pixels, dst (pixel stride c bytes)
// = the byte-wise signed maximum of ntaps pixels of src, tstride bytes apart
// (the first at src, the next output pixel's at src + pstride), c bytes
// each: c32 full runs of 32 bytes, then the tail under the mask kmask when it
// is not 0 (no byte outside the pixels is read or written).
func maxPixelsAVX512() {
	kernel("maxPixelsAVX512", "func(dst *int8, src *int8, c int, c32 int, kmask uint32, ntaps int, tstride int, pstride int, n int)",
		"maxPixelsAVX512 is the horizontal pass of the int8 max pool (AVX-512 BW).")
	dst, src, c, ts, ps, n, d, s, t, j, tap := RDI, RSI, R8, R9, R10, RCX, R11, R12, R13, R14, RBX
	loadArgs("dst src c tstride pstride n", dst, src, c, ts, ps, n)
	Load(Param("kmask"), EAX)
	KMOVD(EAX, K1)
	TESTQ(n, n)
	JZ(LabelRef("mxp_done"))
	Label("mxp_pixel")
	MOVQ(dst, d)
	MOVQ(src, s)
	Load(Param("c32"), j)
	TESTQ(j, j)
	JZ(LabelRef("mxp_tail"))
	Label("mxp_run")
	VMOVDQU(Mem{Base: s}, Y0)
	Load(Param("ntaps"), t)
	LEAQ(Mem{Base: s, Index: ts, Scale: 1}, tap)
	DECQ(t)
	JZ(LabelRef("mxp_run_store"))
	Label("mxp_run_tap")
	VPMAXSB(Mem{Base: tap}, Y0, Y0)
	ADDQ(ts, tap)
	loopBack(t, "mxp_run_tap")
	Label("mxp_run_store")
	VMOVDQU(Y0, Mem{Base: d})
	ADDQ(Imm(32), s)
	ADDQ(Imm(32), d)
	loopBack(j, "mxp_run")
	Label("mxp_tail")
	KORTESTD(K1, K1)
	JZ(LabelRef("mxp_next"))
	VMOVDQU8_Z(Mem{Base: s}, K1, Y0)
	Load(Param("ntaps"), t)
	LEAQ(Mem{Base: s, Index: ts, Scale: 1}, tap)
	DECQ(t)
	JZ(LabelRef("mxp_tail_store"))
	Label("mxp_tail_tap")
	VMOVDQU8_Z(Mem{Base: tap}, K1, Y1)
	VPMAXSB(Y1, Y0, Y0)
	ADDQ(ts, tap)
	loopBack(t, "mxp_tail_tap")
	Label("mxp_tail_store")
	VMOVDQU8(Y0, K1, Mem{Base: d})
	Label("mxp_next")
	ADDQ(c, dst)
	ADDQ(ps, src)
	loopBack(n, "mxp_pixel")
	Label("mxp_done")
	ret()
}

// copyPixelsAVX512 copies, for each of n pixels, c bytes of src (pixel stride
// sstride) into the first w bytes of dst (stride dstride), the w − c bytes
// after them (if w > c) set to 0: the channel padding of the int8 depthwise
// convolution's rows and its removal. Runs of 32 bytes under BZHI masks: a
// zero-masked load of the bytes left of c, a masked store of the bytes left
// of w, so nothing outside the pixels is read or written.
func copyPixelsAVX512() {
	kernel("copyPixelsAVX512", "func(dst *int8, dstride int, src *int8, sstride int, c int, w int, n int)",
		"copyPixelsAVX512 copies c bytes per pixel into w (AVX-512 BW, BMI2).")
	dst, ds, src, ss, n, d, sp, rc, rw, c32 := RDI, R8, RSI, R9, RCX, R10, R11, R12, R13, R14
	loadArgs("dst dstride src sstride n", dst, ds, src, ss, n)
	MOVL(U32(0xffffffff), EBX)
	MOVQ(U32(32), c32)
	TESTQ(n, n)
	JZ(LabelRef("cpp_done"))
	Label("cpp_pixel")
	MOVQ(dst, d)
	MOVQ(src, sp)
	Load(Param("c"), rc)
	Load(Param("w"), rw)
	Label("cpp_chunk")
	MOVQ(rw, RAX)
	CMPQ(RAX, c32)
	CMOVQGT(c32, RAX)
	BZHIL(EAX, EBX, EDX)
	KMOVD(EDX, K2)
	TESTQ(rc, rc)
	JLE(LabelRef("cpp_zero"))
	MOVQ(rc, RAX)
	CMPQ(RAX, c32)
	CMOVQGT(c32, RAX)
	BZHIL(EAX, EBX, EDX)
	KMOVD(EDX, K1)
	VMOVDQU8_Z(Mem{Base: sp}, K1, Y0)
	JMP(LabelRef("cpp_store"))
	Label("cpp_zero")
	VPXOR(Y0, Y0, Y0)
	Label("cpp_store")
	VMOVDQU8(Y0, K2, Mem{Base: d})
	ADDQ(c32, sp)
	ADDQ(c32, d)
	SUBQ(c32, rc)
	SUBQ(c32, rw)
	JG(LabelRef("cpp_chunk"))
	ADDQ(ds, dst)
	ADDQ(ss, src)
	loopBack(n, "cpp_pixel")
	Label("cpp_done")
	ret()
}
