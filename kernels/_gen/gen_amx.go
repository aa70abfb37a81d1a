package main

// AMX int8 GEMM kernels (set "amx": asm_amx_amd64.s, stubs_amx_amd64.go).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func amxKernels() {
	for _, mt := range []int{1, 2} {
		for _, nt := range []int{1, 2} {
			amxGemm(mt, nt)
		}
	}
	peakAMX()
}

// Tile registers of amxGemm: accumulators tmm0-3 (row tile r, column tile
// c at tmm 2r+c), A row tiles tmm4-5, B column tiles tmm6-7.
func amxAcc(r, c int) int { return 2*r + c }

// amxGemm generates amxGemm_{mt}x{nt}: an (mt·16)×(nt·16) block of int32
// C = bias + Σ_k a·w (TDPBSSD: signed int8 by signed int8, so activations go
// in as they are and the bias is the plain one with the input zero point
// folded in), for ngroups consecutive groups of nt weight panels. It loads the
// caller's tile configuration (rows of the last row tile may be fewer than 16),
// and releases the tiles before it returns: Go may run another goroutine on
// this thread between calls.
//
// A: row r at a + r·lda; the reduction walks nseg segments of kb blocks of 64
// bytes, segment s starting at a + s·sstride (the kernel rows of an implicit
// convolution; nseg = 1 for a plain GEMM). B: the packed panels of
// QGemmWeights ([k/4][16 columns][4 k], 64 bytes per row, pstride bytes from
// one panel to the next), whose 16 rows of a 64-k block are one B tile.
// bias: 16·nt int32 per group, loaded as a tile with stride 0 (every row
// alike). C: row stride ldc bytes, groups 64·nt bytes apart.
func amxGemm(mt, nt int) {
	name := fmt.Sprintf("amxGemm_%dx%d", mt, nt)
	kernel(name, "func(cfg *byte, a *int8, lda int, b *int8, pstride int, kb int, nseg int, sstride int, bias *int32, c *int32, ldc int, ngroups int)",
		fmt.Sprintf("%s computes ngroups int8 blocks of %d×%d int32 with AMX TDPBSSD (cfg: the tile configuration).", name, 16*mt, 16*nt))
	a0, a1, lda, b0, b1, s64 := RSI, R8, RBX, R9, R10, R11
	k, seg, adj, zero := RCX, R12, R13, RAX
	Load(Param("cfg"), RDI)
	ldtilecfg(amxMem{base: gpNum(RDI), index: -1})
	loadArgs("lda b", lda, b0)
	MOVQ(U32(64), s64)
	if nt == 2 {
		Load(Param("pstride"), b1)
		ADDQ(b0, b1)
	}
	// adj = sstride - kb·64: from the end of one segment to the start of the next
	Load(Param("sstride"), adj)
	Load(Param("kb"), RDX)
	SHLQ(Imm(6), RDX)
	SUBQ(RDX, adj)
	XORQ(zero, zero)

	Label(name + "_group")
	Load(Param("a"), a0)
	if mt == 2 {
		MOVQ(lda, a1)
		SHLQ(Imm(4), a1)
		ADDQ(a0, a1)
	}
	Load(Param("bias"), RDX)
	for r := 0; r < mt; r++ {
		for c := 0; c < nt; c++ {
			tileloadd(amxAcc(r, c), mem64(RDX, zero, int32(64*c)))
		}
	}
	Load(Param("nseg"), seg)
	Label(name + "_seg")
	Load(Param("kb"), k)
	Label(name + "_loop")
	tileloadd(4, mem64(a0, lda, 0))
	if mt == 2 {
		tileloadd(5, mem64(a1, lda, 0))
	}
	tileloadd(6, mem64(b0, s64, 0))
	if nt == 2 {
		tileloadd(7, mem64(b1, s64, 0))
	}
	for r := 0; r < mt; r++ {
		for c := 0; c < nt; c++ {
			tdpbssd(amxAcc(r, c), 4+r, 6+c)
		}
	}
	ADDQ(Imm(64), a0)
	if mt == 2 {
		ADDQ(Imm(64), a1)
	}
	ADDQ(U32(1024), b0)
	if nt == 2 {
		ADDQ(U32(1024), b1)
	}
	loopBack(k, name+"_loop")
	ADDQ(adj, a0)
	if mt == 2 {
		ADDQ(adj, a1)
	}
	loopBack(seg, name+"_seg")

	// store the group: rows 0-15 at c, rows 16-31 at c + 16·ldc
	Load(Param("c"), RCX)
	Load(Param("ldc"), R12)
	for r := 0; r < mt; r++ {
		if r == 1 {
			MOVQ(R12, RDX)
			SHLQ(Imm(4), RDX)
			ADDQ(RDX, RCX)
		}
		for c := 0; c < nt; c++ {
			tilestored(mem64(RCX, R12, int32(64*c)), amxAcc(r, c))
		}
	}
	ADDQ(U32(64*nt), paramAddr("c"))
	ADDQ(U32(64*nt), paramAddr("bias"))
	// B moved through one panel per column tile; the next group starts nt
	// panels on.
	if nt == 2 {
		Load(Param("pstride"), RDX)
		ADDQ(RDX, b0)
		ADDQ(RDX, b1)
	}
	DECQ(paramAddr("ngroups"))
	JNZ(LabelRef(name + "_group"))
	tilerelease()
	RET()
}

// peakAMX generates peakAMX(cfg, n): n iterations of 16 independent-ish
// TDPBSSD (4 accumulators, register operands only) = 16·16·16·64 int8 MACs,
// the instruction peak of the AMX path for `warboy bench kernels` and the
// benchmark's %peak.
func peakAMX() {
	kernel("peakAMX", "func(cfg *byte, n int)",
		"peakAMX runs n iterations of 16 TDPBSSD on 16x64 tiles (262144 int8 MACs) after loading cfg.")
	Load(Param("cfg"), RDI)
	ldtilecfg(amxMem{base: gpNum(RDI), index: -1})
	Load(Param("n"), RCX)
	for t := 0; t < 8; t++ {
		tilezero(t)
	}
	Label("peakamx_loop")
	for i := 0; i < 16; i++ {
		tdpbssd(i%4, 4+(i/4)%2, 6+(i/8)%2)
	}
	loopBack(RCX, "peakamx_loop")
	tilerelease()
	RET()
}
