package main

// The "qinter" set: the input QuantizeLinear of an int8 CNN, three float32
// channel planes (an RGB image, NCHW) quantized to int8 and interleaved into
// channels-last order in one pass (AVX-512 VBMI).

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func qinterKernels() {
	quantInterleave3VBMI()
}

// quantInterleave3VBMI quantizes 16 pixels per step: 16 floats of each plane a,
// b, c as quantizeF32AVX2 does (VDIVPS, clamp to [lo, hi] with VMAXPS first so a
// NaN becomes lo, VCVTPS2DQ round half to even, + zp, VPMOVSDB), the three 16-byte
// results in lanes 0-2 of a zmm register, VPERMB with idx (idx[3i+ch] = 16ch+i)
// puts them in pixel order, VPXORD applies the uint8 xor, and a masked store
// writes the 48 bytes. p = [bits(scale), bits(-128-zp), bits(127-zp), zp,
// xor·0x01010101]; n is a multiple of 16.
func quantInterleave3VBMI() {
	kernel("quantInterleave3VBMI", "func(a *float32, b *float32, c *float32, out *int8, n int, p *[5]int32, idx *[64]byte)",
		"quantInterleave3VBMI quantizes n pixels (a multiple of 16) of three float32 planes into interleaved int8 (AVX-512 VBMI).")
	a, b, c, out, n, p, idx := RSI, RBX, R8, RDI, RCX, RDX, R9
	loadArgs("a b c out n p idx", a, b, c, out, n, p, idx)
	blocks("qi3", n, 4, func() {
		VBROADCASTSS(Mem{Base: p}, Z8)           // scale
		VBROADCASTSS(Mem{Base: p, Disp: 4}, Z9)  // lo
		VBROADCASTSS(Mem{Base: p, Disp: 8}, Z10) // hi
		VPBROADCASTD(Mem{Base: p, Disp: 12}, Z11)
		VPBROADCASTD(Mem{Base: p, Disp: 16}, Z13)
		VMOVDQU64(Mem{Base: idx}, Z12)
		MOVQ(U64(0xffffffffffff), RAX)
		KMOVQ(RAX, K1)
	}, func() {
		for i, src := range []GPPhysical{a, b, c} {
			z := zmm(i)
			VMOVUPS(Mem{Base: src}, z)
			VDIVPS(Z8, z, z)
			clampCvtZP(z, Z9, Z10, Z11)
			VPMOVSDB(z, z.AsX())
		}
		VINSERTI32X4(Imm(1), X1, Z0, Z0)
		VINSERTI32X4(Imm(2), X2, Z0, Z0)
		VPERMB(Z0, Z12, Z0)
		VPXORD(Z13, Z0, Z0)
		VMOVDQU8(Z0, K1, Mem{Base: out})
		ADDQ(Imm(64), a)
		ADDQ(Imm(64), b)
		ADDQ(Imm(64), c)
		ADDQ(Imm(48), out)
	})
}
