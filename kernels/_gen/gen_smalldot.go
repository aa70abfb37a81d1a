package main

// The small products with B stored transposed (the "smalldot" set,
// asm_smalldot_amd64.s; twenty-third session): c[j] = alpha·Σ_p a[p]·b[j·ldb+p]
// for up to 16 (AVX-512) or 8 (AVX2) rows j of B, one call per row of A.
// Informer's ProbSparse attention multiplies each query row by its 12 sampled
// keys: 384 products of 1x16 by 16x12 per run, each of which went through the
// packed GEMM (a transposing pack of B, a 6x16 tile of which one row is real).
// Here each row of B is one dot product accumulated along k in one register
// (the reduction in vectors of 16 or 8, the tail of k under a lane mask, never
// read past), and the 16 (8) accumulators are summed across their lanes
// together by a transposing tree of shuffles and adds, so the results land in
// one vector that is scaled and stored under a mask of n lanes.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// smallDotKernels is called from main for -set smalldot.
func smallDotKernels() {
	// The lane order the reduction trees leave: lane L of the AVX-512 tree
	// holds row 4·(L mod 4) + L/4, of the AVX2 tree row 2·(L mod 4) + L/4;
	// the tables give, per row j, the lane that holds it (VPERMPS indices).
	smallDotPerm512 = GLOBL("smallDotPerm512", RODATA|NOPTR)
	for j := 0; j < 16; j++ {
		DATA(4*j, U32(uint32(4*(j%4)+j/4)))
	}
	smallDotPerm256 = GLOBL("smallDotPerm256", RODATA|NOPTR)
	for j := 0; j < 8; j++ {
		DATA(4*j, U32(uint32(4*(j%2)+j/2)))
	}
	smallDotMask = avx2TailMask("smallDotMask")
	smallDotT(true)
	smallDotT(false)
}

var smallDotPerm512, smallDotPerm256, smallDotMask Mem

// smallDotT emits smallDotT{AVX512,AVX2}(a, b *float32, ldb, k, n int, c
// *float32, alpha float32): c[j] = alpha·Σ_{p<k} a[p]·b[j·ldb+p] for j < n,
// 1 ≤ n ≤ lanes. Row j's products are accumulated in vector j in p order,
// lanes apart; the lanes are then summed by the tree.
func smallDotT(wide bool) {
	vec, lanes := vecRegs(wide)
	isa := "AVX2"
	if wide {
		isa = "AVX512"
	}
	name := "smallDotT" + isa
	kernel(name, "func(a *float32, b *float32, ldb int, k int, n int, c *float32, alpha float32)",
		fmt.Sprintf("%s sets c[j] = alpha·Σ_{p<k} a[p]·b[j·ldb+p] for j < n, 1 ≤ n ≤ %d (%s; the tail of k under a lane mask).", name, lanes, isa))
	a, b, ldb, k, n := RSI, RDI, R8, RCX, R10
	full, pa, pb, cnt := R9, R11, R12, R13
	loadArgs("a b ldb k n", a, b, ldb, k, n)
	SHLQ(Imm(2), ldb)
	shift := uint64(4)
	if !wide {
		shift = 3
	}
	MOVQ(k, full)
	SHRQ(Imm(shift), full)
	ANDQ(Imm(uint64(lanes-1)), k) // k: the tail's length
	x, y, mask := vec(lanes), vec(lanes+1), vec(lanes+2)
	if wide {
		MOVQ(U32(1), RAX)
		SHLQ(CL, RAX)
		DECQ(RAX)
		KMOVW(EAX, K1)
	} else {
		MOVQ(U32(8), RAX)
		SUBQ(k, RAX)
		LEAQ(smallDotMask, RBX)
		VMOVDQU(Mem{Base: RBX, Index: RAX, Scale: 4}, mask)
	}
	for j := 0; j < lanes; j++ {
		if wide {
			VPXORD(vec(j), vec(j), vec(j))
		} else {
			VXORPS(vec(j), vec(j), vec(j))
		}
	}
	step := 4 * lanes
	for j := 0; j < lanes; j++ {
		acc := vec(j)
		lbl := fmt.Sprintf("%s_row%d", name, j)
		if j > 0 {
			CMPQ(n, Imm(uint64(j)))
			JLE(LabelRef(name + "_reduce"))
		}
		MOVQ(a, pa)
		MOVQ(b, pb)
		MOVQ(full, cnt)
		TESTQ(cnt, cnt)
		JZ(LabelRef(lbl + "_tail"))
		Label(lbl)
		VMOVUPS(Mem{Base: pa}, x)
		VFMADD231PS(Mem{Base: pb}, x, acc)
		ADDQ(Imm(uint64(step)), pa)
		ADDQ(Imm(uint64(step)), pb)
		DECQ(cnt)
		JNZ(LabelRef(lbl))
		Label(lbl + "_tail")
		if wide {
			VMOVUPS_Z(Mem{Base: pa}, K1, x)
			VMOVUPS_Z(Mem{Base: pb}, K1, y)
		} else {
			VMASKMOVPS(Mem{Base: pa}, mask, x)
			VMASKMOVPS(Mem{Base: pb}, mask, y)
		}
		VFMADD231PS(y, x, acc)
		ADDQ(ldb, b)
	}
	Label(name + "_reduce")
	if wide {
		// 16 vectors of 16 lanes -> 8 of two 8-lane halves -> 4 of four
		// quarters -> 2 -> 1 (lane 4g+e: row 4e+g).
		for p := 0; p < 8; p++ {
			VSHUFF32X4(U8(0x44), vec(2*p+1), vec(2*p), x)
			VSHUFF32X4(U8(0xEE), vec(2*p+1), vec(2*p), y)
			VADDPS(y, x, vec(p))
		}
		for p := 0; p < 4; p++ {
			VSHUFF32X4(U8(0x88), vec(2*p+1), vec(2*p), x)
			VSHUFF32X4(U8(0xDD), vec(2*p+1), vec(2*p), y)
			VADDPS(y, x, vec(p))
		}
	} else {
		// 8 vectors of 8 lanes -> 4 of two 128-bit halves -> 2 -> 1 (lane
		// 4g+e: row 2e+g).
		for p := 0; p < 4; p++ {
			VPERM2F128(U8(0x20), vec(2*p+1), vec(2*p), x)
			VPERM2F128(U8(0x31), vec(2*p+1), vec(2*p), y)
			VADDPS(y, x, vec(p))
		}
	}
	for p := 0; p < 2; p++ {
		VSHUFPS(U8(0x44), vec(2*p+1), vec(2*p), x)
		VSHUFPS(U8(0xEE), vec(2*p+1), vec(2*p), y)
		VADDPS(y, x, vec(p))
	}
	VSHUFPS(U8(0x88), vec(1), vec(0), x)
	VSHUFPS(U8(0xDD), vec(1), vec(0), y)
	VADDPS(y, x, vec(0))
	perm := smallDotPerm256
	if wide {
		perm = smallDotPerm512
	}
	loadIdx(wide, perm, vec(1))
	VPERMPS(vec(0), vec(1), vec(0))
	VBROADCASTSS(paramAddr("alpha"), vec(2))
	VMULPS(vec(2), vec(0), vec(0))
	c := RDI
	Load(Param("c"), c)
	if wide {
		MOVQ(U32(1), RAX)
		MOVQ(n, RCX)
		SHLQ(CL, RAX)
		DECQ(RAX)
		KMOVW(EAX, K2)
		VMOVUPS(vec(0), K2, Mem{Base: c})
	} else {
		MOVQ(U32(8), RAX)
		SUBQ(n, RAX)
		LEAQ(smallDotMask, RBX)
		VMOVDQU(Mem{Base: RBX, Index: RAX, Scale: 4}, mask)
		VMASKMOVPS(vec(0), mask, Mem{Base: c})
	}
	ret()
}

// loadIdx loads a vector of 32-bit integers: VMOVDQU32 on zmm, VMOVDQU on
// ymm.
func loadIdx(wide bool, m Mem, v VecPhysical) {
	if wide {
		VMOVDQU32(m, v)
		return
	}
	VMOVDQU(m, v)
}
