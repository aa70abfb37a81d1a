package main

// Indexed row tiles of grouped convolutions whose reduction is split over
// the lanes (fourteenth session): groups of 4, 8, 12, 16, 24, ... channels
// without the zeros of block-diagonal weights.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// sgemmRowsRedKernels generates the reduced indexed tiles
// sgemmAVX512_6xRedP{p}N{nacc}G{ngrp}: P = 2 or 4 input channels a step,
// nacc accumulators a row, ngrp groups a tile.
func sgemmRowsRedKernels() {
	for _, v := range []struct{ p, nacc, ngrp int }{
		{2, 1, 1}, {2, 2, 1}, {2, 3, 1}, {2, 4, 1}, {2, 4, 2}, {2, 2, 2},
		{4, 1, 1}, {4, 2, 1}, {4, 3, 1}, {4, 4, 1}, {4, 4, 2}, {4, 2, 2}, {4, 3, 3}, {4, 4, 4},
	} {
		sgemmRowsRedKernel(fmt.Sprintf("sgemmAVX512_6xRedP%dN%dG%d", v.p, v.nacc, v.ngrp), v.p, v.nacc, v.ngrp, false)
	}
	sgemmRowsRedKernel("sgemmAVX512_6xRedVec4x4", 4, 4, 1, true)
}

// sgemmRowsRedKernel generates a six-row indexed tile of a grouped
// convolution in which each step broadcasts P consecutive input channels of
// a group (VBROADCASTSD: P = 2, VBROADCASTF32X4: P = 4) and lane l of an
// accumulator adds channel l mod P: one zmm holds 16/P outputs, each as P
// partial sums over the channels ≡ 0 .. P-1 (mod P). A group of 8 outputs
// from 8 channels thus runs 18 steps (P = 4) of two zmm FMAs, where the
// merged 16-lane block of the 6x16 tiles ran 144 steps of one FMA, half of
// its lanes multiplying block-diagonal zeros; a group of 24 fills three zmm
// instead of the 48 lanes of two merged groups; a group of 16 runs one
// broadcast for two FMAs instead of one (the paired tile of
// gen_rows_pair.go).
//
// Row r of group g (< ngrp; nacc/ngrp accumulators each, consecutive)
// reads step p's P floats at a + aoff[r] + off[p] + g·dc. B is [k][nacc][16]
// in that lane layout; the accumulators start from the bias (nacc vectors
// in the same layout: the bias in lane 0 of each output's P lanes, zero in
// the others; 0 when nil). The epilogue adds each output's P partial sums
// ((p0 + p1) for P = 2, ((p0 + p1) + (p2 + p3)) for P = 4: VSHUFPS pairs
// lanes across accumulators), puts the outputs of P consecutive
// accumulators in channel order with the VPERMPS index at perm, adds the
// residual (read at res + coff[r]), clamps to [lo, hi] and stores
// nacc·16/P floats at c + coff[r], the last vector masked when nacc is not
// a multiple of P. It runs ntiles tiles, the tables advancing six entries a
// tile.
//
// With vec (four groups of four outputs from four channels each, their 16
// input channels consecutive: ResNeXt's first stage) a step loads the 16
// channels of one tap as a vector instead of four broadcasts: lane 4g+i is
// channel i of group g, accumulator j adds output j of every group, so one
// load feeds four FMAs; the epilogue's sums leave output j of group g in
// lane 4g+j, which is its channel (perm is the identity).
func sgemmRowsRedKernel(name string, p, nacc, ngrp int, vec bool) {
	kernel(name, "func(k int, a *float32, aoff *int32, off *int32, dc int, b *float32, bias *float32, c *float32, coff *int32, res *float32, lo float32, hi float32, ntiles int, perm *int32)",
		fmt.Sprintf("%s is the AVX-512 six-row indexed tile (groups a tile: %d; zmm a row: %d; input channels a step: %d) a step split over the lanes, reduced, permuted to channel order and stored with the fused epilogue.", name, ngrp, nacc, p))
	const width = 64
	k, b, off := RCX, RDI, RAX
	rows := []GPPhysical{RSI, RBX, R9, R10, R11, R12}
	idx := []GPPhysical{R13, R8, R14, R15}
	acc := func(r, v int) VecPhysical { return zmm(r*nacc + v) }
	breg := func(v int) VecPhysical { return zmm(6*nacc + v) }
	tmp := func(i int) VecPhysical { return zmm(7*nacc + i) }
	per := nacc / ngrp
	bcast := func(m Mem, t VecPhysical) {
		if vec {
			VMOVUPS(m, t)
		} else if p == 2 {
			VBROADCASTSD(m, t)
		} else {
			VBROADCASTF32X4(m, t)
		}
	}
	idxTileStart(name, k, off, b, rows, nacc, width, acc)
	dc := paramAddr("dc")
	step := func(s int) {
		MOVLQSX(Mem{Base: off, Disp: 4 * s}, idx[0])
		for g := 1; g < ngrp; g++ {
			MOVQ(idx[g-1], idx[g])
			ADDQ(dc, idx[g])
		}
		for v := 0; v < nacc; v++ {
			VMOVUPS(Mem{Base: b, Disp: width * (nacc*s + v)}, breg(v))
		}
		for r := 0; r < 6; r++ {
			for g := 0; g < ngrp; g++ {
				t := tmp((r*ngrp + g) % 2)
				bcast(Mem{Base: rows[r], Index: idx[g], Scale: 4}, t)
				for v := g * per; v < (g+1)*per; v++ {
					VFMADD231PS(breg(v), t, acc(r, v))
				}
			}
		}
	}
	kLoop(name, k, step, func(n int) {
		ADDQ(Imm(uint64(4*n)), off)
		ADDQ(U32(uint64(n*width*nacc)), b)
	})

	// Epilogue: breg(0), tmp(0), tmp(1) are free.
	pv, t1, t2 := breg(0), tmp(0), tmp(1)
	c, coff, res, row := RDI, R8, RSI, RDX
	loadArgs("c coff res", c, coff, res)
	Load(Param("perm"), RAX)
	VMOVUPS(Mem{Base: RAX}, pv)
	nvec := (nacc + p - 1) / p
	if last := nacc - (nvec-1)*p; last < p {
		MOVL(U32(uint64(1)<<(last*16/p)-1), EAX)
		KMOVW(EAX, K1)
	}
	pairSum := func(a, bb, dst VecPhysical) {
		VSHUFPS(Imm(0x88), bb, a, t1)
		VSHUFPS(Imm(0xDD), bb, a, t2)
		VADDPS(t2, t1, dst)
	}
	// Every residual row is read before any C row is written (the rows
	// of a short last tile repeat, and the residual may be C itself).
	partial := func(q int) bool { return q == nvec-1 && nacc-q*p < p }
	for r := 0; r < 6; r++ {
		MOVLQSX(Mem{Base: coff, Disp: 4 * r}, row)
		for q := 0; q < nvec; q++ {
			reg := func(i int) VecPhysical { return acc(r, min(q*p+i, nacc-1)) }
			out := acc(r, q*p)
			if p == 2 {
				pairSum(reg(0), reg(1), out)
			} else {
				pairSum(reg(0), reg(1), out)
				if q*p+2 < nacc {
					pairSum(reg(2), reg(3), reg(2))
					pairSum(out, reg(2), out)
				} else {
					pairSum(out, out, out)
				}
			}
			VPERMPS(out, pv, out)
			rm := Mem{Base: res, Index: row, Scale: 4, Disp: width * q}
			TESTQ(res, res)
			JZ(LabelRef(fmt.Sprintf("%s_nores_%d_%d", name, r, q)))
			if partial(q) {
				VADDPS(rm, out, K1, out)
			} else {
				VADDPS(rm, out, out)
			}
			Label(fmt.Sprintf("%s_nores_%d_%d", name, r, q))
		}
	}
	VBROADCASTSS(paramAddr("lo"), t1)
	VBROADCASTSS(paramAddr("hi"), t2)
	for r := 0; r < 6; r++ {
		MOVLQSX(Mem{Base: coff, Disp: 4 * r}, row)
		for q := 0; q < nvec; q++ {
			out := acc(r, q*p)
			VMAXPS(out, t1, out)
			VMINPS(out, t2, out)
			m := Mem{Base: c, Index: row, Scale: 4, Disp: width * q}
			if partial(q) {
				VMOVUPS(out, K1, m)
			} else {
				VMOVUPS(out, m)
			}
		}
	}
	// Next tile: both tables move six entries on.
	Load(Param("ntiles"), RDX)
	DECQ(RDX)
	JZ(LabelRef(name + "_ret"))
	Store(RDX, Param("ntiles"))
	ADDQ(Imm(24), paramAddr("aoff"))
	ADDQ(Imm(24), paramAddr("coff"))
	JMP(LabelRef(name + "_tile"))
	Label(name + "_ret")
	ret()
}
