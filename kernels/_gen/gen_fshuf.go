package main

// The "fshuf" set: the float32 channel shuffle of two groups (ShuffleNet), a
// per-pixel interleave of two channel runs, y[2j] = a[j], y[2j+1] = b[j],
// followed by the zeros of the output's channel padding.
//
// The Go loop moves one float a store; here 16 pairs at a time are loaded
// as two vectors and merged by two two-table permutes (VPERMI2PS) into 32
// output floats, the last partial run of each pixel and its padding under
// AVX-512 masks, so that no float outside the pixel's own input runs and
// output is read or written.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func fshufKernels() {
	interleavePairsF32AVX512()
}

// fshufIdx: output lanes 0-15 take a[0], b[0], ..., a[7], b[7] and lanes
// 16-31 a[8], b[8], ..., a[15], b[15] of the tables (a, b): index i < 16 is
// a[i], 16 + i is b[i].
var fshufIdx = func() []uint32 {
	v := make([]uint32, 32)
	for j := 0; j < 16; j++ {
		v[2*j], v[2*j+1] = uint32(j), uint32(16+j)
	}
	return v
}()

// interleavePairsF32AVX512 interleaves, for each of n pixels, h floats of a
// (pixel stride sa bytes) with h floats of b (stride sb bytes) into y (stride
// sy bytes): full runs of 16 pairs (h16 = h/16 of them), then, when klo is
// not 0, one more run whose inputs are loaded under kin (the last h%16
// floats; lanes outside it read as 0) and whose 32 output floats are stored
// under klo (lanes 0-15) and khi (16-31): the tail pairs, then zeros for the
// output's channel padding.
func interleavePairsF32AVX512() {
	kernel("interleavePairsF32AVX512", "func(y *float32, sy int, a *float32, sa int, b *float32, sb int, h16 int, kin uint16, klo uint16, khi uint16, n int)",
		"interleavePairsF32AVX512 interleaves two float32 runs per pixel and zeroes the padding after them (AVX-512 F).")
	idx := GLOBL("fshufIdx", RODATA|NOPTR)
	for i, v := range fshufIdx {
		DATA(4*i, U32(v))
	}
	y, sy, a, sa, b, sb, n, c, ya, aa, ba := RDI, R8, RSI, R9, RDX, R10, RCX, R11, R12, R13, R14
	loadArgs("y sy a sa b sb n", y, sy, a, sa, b, sb, n)
	Load(Param("kin"), EAX)
	KMOVW(EAX, K1)
	Load(Param("klo"), EAX)
	KMOVW(EAX, K2)
	Load(Param("khi"), EAX)
	KMOVW(EAX, K3)
	VMOVDQU32(idx, Z4)
	VMOVDQU32(idx.Offset(64), Z5)
	TESTQ(n, n)
	JZ(LabelRef("ilf_done"))
	Label("ilf_pixel")
	MOVQ(y, ya)
	MOVQ(a, aa)
	MOVQ(b, ba)
	Load(Param("h16"), c)
	TESTQ(c, c)
	JZ(LabelRef("ilf_tail"))
	Label("ilf_run")
	VMOVUPS(Mem{Base: aa}, Z0)
	VMOVUPS(Mem{Base: ba}, Z1)
	VMOVAPS(Z4, Z2)
	VMOVAPS(Z5, Z3)
	VPERMI2PS(Z1, Z0, Z2)
	VPERMI2PS(Z1, Z0, Z3)
	VMOVUPS(Z2, Mem{Base: ya})
	VMOVUPS(Z3, Mem{Base: ya, Disp: 64})
	ADDQ(Imm(64), aa)
	ADDQ(Imm(64), ba)
	ADDQ(Imm(128), ya)
	loopBack(c, "ilf_run")
	Label("ilf_tail")
	KORTESTW(K2, K2)
	JZ(LabelRef("ilf_next"))
	VMOVUPS_Z(Mem{Base: aa}, K1, Z0)
	VMOVUPS_Z(Mem{Base: ba}, K1, Z1)
	VMOVAPS(Z4, Z2)
	VMOVAPS(Z5, Z3)
	VPERMI2PS(Z1, Z0, Z2)
	VPERMI2PS(Z1, Z0, Z3)
	VMOVUPS(Z2, K2, Mem{Base: ya})
	VMOVUPS(Z3, K3, Mem{Base: ya, Disp: 64})
	Label("ilf_next")
	ADDQ(sy, y)
	ADDQ(sa, a)
	ADDQ(sb, b)
	loopBack(n, "ilf_pixel")
	Label("ilf_done")
	ret()
}
