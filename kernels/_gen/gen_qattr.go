package main

// The transposing gather of QAT's shifted weight gradient (kernels.GatherTaps16F32,
// package qat's packShiftedTaps): sixteen runs of x, each at its own offset, laid
// out as rows of 16 floats (dst[p*16+l] = x[off[l]+p]), the B panel of the GEMM
// dW += dy·B. The "qattr" set, asm_qattr_amd64.s: a 16x16 register transpose on
// zmm (AVX-512F) and two 8x8 ones on ymm (AVX2). Pure data movement: every path
// writes the same bits.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func qattrKernels() {
	gatherTaps16AVX512()
	gatherTaps16AVX2()
	tapRowsKernels() // gen_taprows.go
}

// gatherTaps16AVX512 generates blocks of 16 rows: the 16 lanes' next 16 floats
// loaded into Z0-Z15 (lane l from x + 4·off[l]), transposed (unpack of floats,
// unpack of pairs, two exchanges of 128-bit quarters) and stored as 16 rows of
// dst. n is a positive multiple of 16.
func gatherTaps16AVX512() {
	kernel("gatherTaps16AVX512", "func(dst *float32, x *float32, off *int64, n int)",
		"gatherTaps16AVX512 writes dst[p*16+l] = x[off[l]+p] for l < 16, p < n (n a positive multiple of 16).")
	dst, x, off, n, t := RDI, RSI, RDX, RCX, R8
	loadArgs("dst x off n", dst, x, off, n)
	SHRQ(Imm(4), n)
	Label("gt512_loop")
	for l := 0; l < 16; l++ {
		MOVQ(Mem{Base: off, Disp: 8 * l}, t)
		VMOVUPS(Mem{Base: x, Index: t, Scale: 4}, zmm(l))
	}
	transpose16Zmm(func(row int, o VecPhysical) { VMOVUPS(o, Mem{Base: dst, Disp: 64 * row}) })
	ADDQ(Imm(64), x)
	ADDQ(U32(1024), dst)
	loopBack(n, "gt512_loop")
	ret()
}

// transpose16Zmm transposes the 16x16 floats in Z0-Z15 (row r in Z(r)) with
// Z16-Z31 as temporaries (Z16-Z20 still in use when store runs) (unpack of floats, unpack of pairs, two exchanges of
// 128-bit quarters) and hands each output row to store, in Z20 (row r of the
// output is column r of the input), rows in the order 0, 4, 8, 12, 1, 5, ...
// Z0-Z15 are clobbered.
func transpose16Zmm(store func(row int, o VecPhysical)) {
	// floats: t[2i] = (r2i0 r2i+1,0 r2i1 r2i+1,1 | ...), t[2i+1] the high pairs
	for i := 0; i < 8; i++ {
		VUNPCKLPS(zmm(2*i+1), zmm(2*i), zmm(16+2*i))
		VUNPCKHPS(zmm(2*i+1), zmm(2*i), zmm(16+2*i+1))
	}
	// pairs: u[4i+j] holds, in quarter m, element 4m+j of rows 4i..4i+3
	for i := 0; i < 4; i++ {
		a, b, c, d := zmm(16+4*i), zmm(16+4*i+1), zmm(16+4*i+2), zmm(16+4*i+3)
		VUNPCKLPD(c, a, zmm(4*i))
		VUNPCKHPD(c, a, zmm(4*i+1))
		VUNPCKLPD(d, b, zmm(4*i+2))
		VUNPCKHPD(d, b, zmm(4*i+3))
	}
	// quarters: row 4m+j of the output is quarter m of u[j], u[4+j], u[8+j], u[12+j]
	for j := 0; j < 4; j++ {
		v0, v1, v2, v3 := zmm(16), zmm(17), zmm(18), zmm(19)
		VSHUFF32X4(Imm(0x44), zmm(4+j), zmm(j), v0)
		VSHUFF32X4(Imm(0xEE), zmm(4+j), zmm(j), v1)
		VSHUFF32X4(Imm(0x44), zmm(12+j), zmm(8+j), v2)
		VSHUFF32X4(Imm(0xEE), zmm(12+j), zmm(8+j), v3)
		o := zmm(20)
		for m := 0; m < 4; m++ {
			src1, src2, imm := v0, v2, uint64(0x88)
			if m >= 2 {
				src1, src2 = v1, v3
			}
			if m%2 == 1 {
				imm = 0xDD
			}
			VSHUFF32X4(Imm(imm), src2, src1, o)
			store(4*m+j, o)
		}
	}
}

// gatherTaps16AVX2 generates blocks of 8 rows, each two 8x8 transposes (lanes
// 0-7 to the rows' first halves, lanes 8-15 to their second). n is a positive
// multiple of 8.
func gatherTaps16AVX2() {
	kernel("gatherTaps16AVX2", "func(dst *float32, x *float32, off *int64, n int)",
		"gatherTaps16AVX2 writes dst[p*16+l] = x[off[l]+p] for l < 16, p < n (n a positive multiple of 8).")
	dst, x, off, n, t := RDI, RSI, RDX, RCX, R8
	loadArgs("dst x off n", dst, x, off, n)
	SHRQ(Imm(3), n)
	Label("gt2_loop")
	for h := 0; h < 2; h++ {
		for l := 0; l < 8; l++ {
			MOVQ(Mem{Base: off, Disp: 8 * (8*h + l)}, t)
			VMOVUPS(Mem{Base: x, Index: t, Scale: 4}, ymm(l))
		}
		// t[2i], t[2i+1]: floats of rows 2i, 2i+1 interleaved (per 128-bit half)
		for i := 0; i < 4; i++ {
			VUNPCKLPS(ymm(2*i+1), ymm(2*i), ymm(8+2*i))
			VUNPCKHPS(ymm(2*i+1), ymm(2*i), ymm(8+2*i+1))
		}
		// u[4i+j]: element j (low half) and 4+j (high half) of rows 4i..4i+3
		for i := 0; i < 2; i++ {
			a, b, c, d := ymm(8+4*i), ymm(8+4*i+1), ymm(8+4*i+2), ymm(8+4*i+3)
			VSHUFPS(Imm(0x44), c, a, ymm(4*i))
			VSHUFPS(Imm(0xEE), c, a, ymm(4*i+1))
			VSHUFPS(Imm(0x44), d, b, ymm(4*i+2))
			VSHUFPS(Imm(0xEE), d, b, ymm(4*i+3))
		}
		for j := 0; j < 4; j++ {
			VPERM2F128(Imm(0x20), ymm(4+j), ymm(j), ymm(8))
			VPERM2F128(Imm(0x31), ymm(4+j), ymm(j), ymm(9))
			VMOVUPS(ymm(8), Mem{Base: dst, Disp: 64*j + 32*h})
			VMOVUPS(ymm(9), Mem{Base: dst, Disp: 64*(4+j) + 32*h})
		}
	}
	ADDQ(Imm(32), x)
	ADDQ(U32(512), dst)
	loopBack(n, "gt2_loop")
	ret()
}
