package main

// The transposing pack of a per-call B operand stored transposed (the "tpack"
// set, asm_tpack_amd64.s): kᵀ of attention's q·kᵀ, packed into the 32-wide
// panels of the dense GEMM at every call (kernels.SgemmScaled). Go moved it
// one float at a time, a sixth of a ViT-B/16 head's q·kᵀ (fourteenth
// session); the kernel transposes 16x16 blocks in zmm registers
// (transpose16Zmm, gen_qattr.go) and scales them by alpha on the way.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// tpackKernels is called from main for -set tpack.
func tpackKernels() {
	kernel("packTrans16AVX512", "func(dst *float32, ldd int, b *float32, ldb int, k int, alpha float32)",
		"packTrans16AVX512 writes dst[r*ldd+l] = alpha·b[l*ldb+r] for the 16 lanes l and r < k (k a positive multiple of 16).")
	dst, ldd4, b, ldb4, k := RDI, R8, RSI, R9, RCX
	loadArgs("dst ldd b ldb k", dst, ldd4, b, ldb4, k)
	SHLQ(Imm(2), ldd4)
	SHLQ(Imm(2), ldb4)
	ldd16, ldd48, ldd12 := R10, R11, R12
	MOVQ(ldd4, ldd16)
	SHLQ(Imm(2), ldd16)
	LEAQ(Mem{Base: ldd16, Index: ldd16, Scale: 2}, ldd48)
	LEAQ(Mem{Base: ldd4, Index: ldd4, Scale: 2}, ldd12)
	alpha := zmm(21) // broadcast at the first store: the transpose's first stages use Z16-Z31
	SHRQ(Imm(4), k)
	Label("tpack_loop")
	MOVQ(b, RAX)
	for l := 0; l < 16; l++ {
		VMOVUPS(Mem{Base: RAX}, zmm(l))
		if l < 15 {
			ADDQ(ldb4, RAX)
		}
	}
	row := RBX
	transpose16Zmm(func(r int, o VecPhysical) {
		j, m := r%4, r/4
		if r == 0 {
			VBROADCASTSS(paramAddr("alpha"), alpha)
		}
		if m == 0 {
			switch j {
			case 0:
				MOVQ(dst, row)
			case 1:
				LEAQ(Mem{Base: dst, Index: ldd4, Scale: 1}, row)
			case 2:
				LEAQ(Mem{Base: dst, Index: ldd4, Scale: 2}, row)
			default:
				LEAQ(Mem{Base: dst, Index: ldd12, Scale: 1}, row)
			}
		}
		VMULPS(alpha, o, o)
		switch m {
		case 0:
			VMOVUPS(o, Mem{Base: row})
		case 1:
			VMOVUPS(o, Mem{Base: row, Index: ldd16, Scale: 1})
		case 2:
			VMOVUPS(o, Mem{Base: row, Index: ldd16, Scale: 2})
		default:
			VMOVUPS(o, Mem{Base: row, Index: ldd48, Scale: 1})
		}
	})
	ADDQ(Imm(64), b)
	LEAQ(Mem{Base: dst, Index: ldd16, Scale: 4}, dst)
	loopBack(k, "tpack_loop")
	ret()
}
