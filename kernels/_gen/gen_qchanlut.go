package main

// The channels-last per-channel lookup table of the int8 executor (QChanLUT:
// a PRelu with one slope per channel, an Add/Mul/... by one constant per
// channel; fourteenth session). Every byte of a pixel goes through its own
// channel's 256-entry table, so the one-table VPERMI2B kernel (int8ew.go)
// does not apply; the Go loop looked one byte up at a time (about 0.5 ns a
// byte, half of MobileFaceNet's int8 time). Here 16 channels at a time are
// widened to dwords (VPMOVZXBD), offset by their tables' starts (ch·256) and
// looked up with one VPGATHERDD; VPMOVDB keeps each dword's low byte. The
// last c mod 16 channels of a pixel run under AVX-512 masks, so no byte
// outside the pixel is read or written (the tables are padded by 3 bytes for
// the dword reads of the last entries).

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// chanLUTAVX512: for each of n pixels of c channels (stride c),
// out[ch] = tables[ch·256 + uint8(x[ch])]; offs holds ch·256 for every channel,
// padded to a multiple of 16; c16 = c/16 full runs, kmask the tail's channels.
func chanLUTAVX512() {
	kernel("chanLUTAVX512", "func(x *int8, out *int8, tables *int8, offs *int32, c int, c16 int, kmask uint16, n int)",
		"chanLUTAVX512 looks each channel of n channels-last pixels up in its own table (AVX-512 F, BW).")
	x, out, t, offs, c, n, xa, oa, oo, j := RSI, RDI, RDX, R8, R9, RCX, R10, R11, R12, R13
	loadArgs("x out tables offs c n", x, out, t, offs, c, n)
	Load(Param("kmask"), EAX)
	KMOVW(EAX, K2)
	TESTQ(n, n)
	JZ(LabelRef("clut_done"))
	Label("clut_pixel")
	MOVQ(x, xa)
	MOVQ(out, oa)
	MOVQ(offs, oo)
	Load(Param("c16"), j)
	TESTQ(j, j)
	JZ(LabelRef("clut_tail"))
	Label("clut_run")
	VPMOVZXBD(Mem{Base: xa}, Z0)
	VPADDD(Mem{Base: oo}, Z0, Z0)
	KXNORW(K1, K1, K1)
	VPXORD(Z1, Z1, Z1)
	VPGATHERDD(Mem{Base: t, Index: Z0, Scale: 1}, K1, Z1)
	VPMOVDB(Z1, Mem{Base: oa})
	ADDQ(Imm(16), xa)
	ADDQ(Imm(16), oa)
	ADDQ(Imm(64), oo)
	loopBack(j, "clut_run")
	Label("clut_tail")
	KORTESTW(K2, K2)
	JZ(LabelRef("clut_next"))
	VPMOVZXBD_Z(Mem{Base: xa}, K2, Z0)
	VPADDD(Mem{Base: oo}, Z0, Z0)
	KMOVW(K2, K1)
	VPXORD(Z1, Z1, Z1)
	VPGATHERDD(Mem{Base: t, Index: Z0, Scale: 1}, K1, Z1)
	VPMOVDB(Z1, K2, Mem{Base: oa})
	Label("clut_next")
	ADDQ(c, x)
	ADDQ(c, out)
	loopBack(n, "clut_pixel")
	Label("clut_done")
	ret()
}
