package main

// AMX int8 GEMM kernels (set "amx": asm_amx_amd64.s, stubs_amx_amd64.go).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func amxKernels() {
	for _, fused := range []bool{false, true} {
		for _, mt := range []int{1, 2} {
			for _, nt := range []int{1, 2} {
				amxGemm(mt, nt, fused)
			}
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
//
// The fused variant (amxGemmQ_*, ep != nil) stores each group's tiles to c
// (the same 32 rows of scratch for every group) and requantizes them in
// float32 as the VNNI kernels do (qgemmVNNI's epilogue): row r goes to
// ep.out + ep.col + ep.rowoff[r] (skipped when negative: the padding columns
// of an implicit convolution), columns masked to the ep.ncols still left.
func amxGemm(mt, nt int, fused bool) {
	name := fmt.Sprintf("amxGemm_%dx%d", mt, nt)
	sig := "func(cfg *byte, a *int8, lda int, b *int8, pstride int, kb int, nseg int, sstride int, bias *int32, c *int32, ldc int, ngroups int)"
	doc := fmt.Sprintf("%s computes ngroups int8 blocks of %d×%d int32 with AMX TDPBSSD (cfg: the tile configuration).", name, 16*mt, 16*nt)
	if fused {
		name = fmt.Sprintf("amxGemmQ_%dx%d", mt, nt)
		sig = sig[:len(sig)-1] + ", ep *int64)"
		doc = fmt.Sprintf("%s is amxGemm_%dx%d with the float32 requantization to int8 rows (ep).", name, mt, nt)
	}
	kernel(name, sig, doc)
	a0, a1, lda, b0, b1, s64 := RSI, R8, RBX, R9, R10, R11
	k, seg, adj, zero := RCX, R12, R13, RAX
	Load(Param("cfg"), RDI)
	ldtilecfg(amxMem{base: gpNum(RDI), index: -1})
	loadArgs("lda b", lda, b0)
	if fused {
		Load(Param("ep"), R14)
		VPBROADCASTD(Mem{Base: R14, Disp: amxEpZP}, Z28)
		VBROADCASTSS(Mem{Base: R14, Disp: amxEpLo}, Z26)
		VBROADCASTSS(Mem{Base: R14, Disp: amxEpHi}, Z27)
	}
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
	MOVQ(U32(64), s64)
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
	if fused {
		amxEpilogue(name, nt)
	} else {
		ADDQ(U32(64*nt), paramAddr("c"))
	}
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
	if fused {
		VZEROUPPER()
	}
	RET()
}

// Field offsets of kernels.amxEpi (checked by TestAMXEpiLayout).
const (
	amxEpOut    = 0  // *int8: column 0 of the group's output
	amxEpScale  = 8  // *float32: the group's 16·nt scales
	amxEpRowOff = 16 // *int64: output offset of each row, < 0 to skip it
	amxEpRows   = 24 // int64
	amxEpNCols  = 32 // int64: output columns left from the group's first
	amxEpZP     = 40 // int32
	amxEpLo     = 44 // float32(Min - zp)
	amxEpHi     = 48 // float32(Max - zp)
	amxEpCol    = 56 // int64: the group's first column, from out and scale
)

// amxEpilogue requantizes the group just stored at c (row stride ldc) to
// int8 rows and moves ep.col and ep.ncols to the next group. R14
// holds ep; Z26-Z28 the clamp bounds and zero point. Uses RCX, RDX, RDI,
// R11, R12 and RAX (restored to 0).
func amxEpilogue(name string, nt int) {
	masks := []Op{K1, K2}
	// column masks: min(ncols, 32) then max(ncols-16, 0) bits of 0xFFFF
	MOVQ(Mem{Base: R14, Disp: amxEpNCols}, RDX)
	MOVQ(U32(32), RDI)
	CMPQ(RDX, RDI)
	CMOVQGT(RDI, RDX)
	MOVL(U32(0xFFFF), R11L)
	BZHIL(EDX, R11L, EDI)
	KMOVW(EDI, K1)
	if nt == 2 {
		SUBQ(Imm(16), RDX)
		CMOVQLT(RAX, RDX)
		BZHIL(EDX, R11L, EDI)
		KMOVW(EDI, K2)
	}
	SUBQ(Imm(uint64(16*nt)), Mem{Base: R14, Disp: amxEpNCols})
	// the group's scales and output column: the pointers plus ep.col, which
	// moves on (the pointer fields never leave their objects: the GC scans them)
	MOVQ(Mem{Base: R14, Disp: amxEpCol}, R11)
	MOVQ(Mem{Base: R14, Disp: amxEpScale}, RDX)
	for v := 0; v < nt; v++ {
		VMOVUPS_Z(Mem{Base: RDX, Index: R11, Scale: 4, Disp: 64 * v}, masks[v], zmm(24+v)) // no read past the last column
	}
	MOVQ(Mem{Base: R14, Disp: amxEpOut}, RDI)
	ADDQ(R11, RDI)
	ADDQ(Imm(uint64(16*nt)), Mem{Base: R14, Disp: amxEpCol})
	MOVQ(Mem{Base: R14, Disp: amxEpRowOff}, RDX)
	MOVQ(Mem{Base: R14, Disp: amxEpRows}, R12)
	Load(Param("c"), RCX)
	Load(Param("ldc"), RAX)
	Label(name + "_row")
	MOVQ(Mem{Base: RDX}, R11)
	TESTQ(R11, R11)
	JS(LabelRef(name + "_skip"))
	for v := 0; v < nt; v++ {
		x := zmm(v)
		VMOVDQU32(Mem{Base: RCX, Disp: 64 * v}, x)
		VCVTDQ2PS(x, x)
		VMULPS(zmm(24+v), x, x)
		clampCvtZP(x, Z26, Z27, Z28)
		VPMOVSDB(x, masks[v], Mem{Base: RDI, Index: R11, Scale: 1, Disp: 16 * v})
	}
	Label(name + "_skip")
	ADDQ(RAX, RCX)
	ADDQ(Imm(8), RDX)
	loopBack(R12, name+"_row")
	XORQ(RAX, RAX)
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
