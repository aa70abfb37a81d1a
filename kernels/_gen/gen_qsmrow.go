package main

// The float Softmax row of the fused int8 attention in one call (nineteenth
// session): int8 scores → float scores through the 256-entry table of the
// steps between the product and the Softmax → up to two score terms (a mask
// or bias Add, a Where select) → the softmax → QuantizeLinear to int8. Before,
// a row took a Go table loop, SoftmaxTermsRowF32 (the term passes, the
// maximum, two exponential passes, the scaling, each an assembly call with
// its own dispatch and tail) and QuantizeF32: on the 16-96-wide rows of the
// small encoders the calls cost more than the arithmetic.
//
// The kernel repeats the operations of that path in the same order, so the
// codes are the same bit for bit: the row maximum over the vector-width
// prefix in one accumulator, its lanes reduced as rowMax's, then the tail in
// order (if v > max); the exponentials (expOf) under FTZ and DAZ, their sum
// over the prefix in one accumulator reduced as expShiftSum's, the tail's
// exponentials from one vector over the last lanes, added in float64 in
// order; 1/sum in float64; the scaling with the flush of subnormals under FTZ
// (rowScaleFlush); the quantization of quantizeF32AVX2. Every pass but the
// two sums is elementwise, so the tail is one more vector overlapping the
// prefix (n ≥ 16). The row of n floats lives in buf between the passes.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// qsmRowKernels is called from main for -set qsmrow.
func qsmRowKernels() {
	expConsts.sym = "qsmExpConsts"
	qsmRows(true)
	qsmRows(false)
}

// qsmRows emits qsmRowsAVX512 (wide) or qsmRowsAVX2: m rows of n scores in
// four passes over all the rows (twenty-second session; the nineteenth
// session's kernel took one row per call with four MXCSR writes each, and a
// 16-wide row cost ~200 ns, a chain of dependent reductions with nothing to
// overlap it). Every row still sees the same operations in the same order as
// the Go path's row, so the codes are the same bit for bit; what changed is
// that the rows' chains are independent within a pass and overlap, and MXCSR
// is written four times per call instead of four times per row:
//
//  1. x = tab[code] with the terms, into the row's n floats of buf; the row
//     maximum (prefix vector, lanes, tail in order) into stats[r];
//  2. under FTZ and DAZ: the exponentials, the float32 sum of the prefix's
//     lanes into stats[r];
//  3. under the caller's MXCSR: the tail's exponentials added in float64 in
//     order, stats[r] = float32(1/sum) (a subnormal 1/sum, possible only in a
//     row with NaN scores, is not flushed, as in the Go path);
//  4. under FTZ: the scaling with the flush of subnormals and the
//     quantization.
//
// buf holds m·n floats (row r at r·n) followed by the m floats of stats; tp is
// nil (no terms) or m groups of four pointers [v1, k1, v2, k2] (0: none; k 0:
// an Add, else a select).
func qsmRows(wide bool) {
	name := rowName("qsmRows", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *int8, src *int8, m int, n int, tab *float32, buf *float32, tp *uintptr, p *[4]int32)",
		fmt.Sprintf("%s writes the int8 softmax of m rows of n int8 scores (n ≥ 16, m ≥ 1) mapped through tab, with up to two terms per row (tp: nil, or per row [v1, k1, v2, k2], v 0: none, k 0: an Add, else a select), quantized with p = [bits(scale), bits(−128−zp), bits(127−zp), zp], as the Go path does; buf is scratch of m·n + m floats.", name))
	src, n, tab, buf := RSI, RCX, RDX, R8
	v1, k1, v2, k2 := R9, R10, R11, R12
	off, nv, rows, stats, tp := RBX, RAX, R13, R14, RDI
	loadArgs("n tab tp", n, tab, tp)
	prefix := func() { // nv = n rounded down to the width
		MOVQ(n, nv)
		ANDQ(I32(-width), nv)
	}
	tailOff := func() {
		MOVQ(n, off)
		SUBQ(Imm(uint64(width)), off)
	}
	fbuf := func(disp int) Mem { return Mem{Base: buf, Index: off, Scale: 4, Disp: disp} }
	seq := 0
	// loop emits body over the prefix's vectors (off = 0, width, ...) and,
	// with tail, once more over the last width elements.
	loop := func(tag string, tail bool, body func()) {
		seq++
		l := fmt.Sprintf("%s_%s%d", name, tag, seq)
		prefix()
		XORQ(off, off)
		Label(l + "_loop")
		body()
		ADDQ(Imm(uint64(width)), off)
		CMPQ(off, nv)
		JB(LabelRef(l + "_loop"))
		if tail {
			CMPQ(n, nv)
			JE(LabelRef(l + "_done"))
			tailOff()
			body()
			Label(l + "_done")
		}
	}
	// overRows emits body once per row: rows counts down from m; buf and
	// src (withSrc) or dst (withDst, RDI) are reloaded from the arguments
	// and advance by a row after each row, stats (buf + 4·m·n) by 4.
	overRows := func(tag string, withSrc, withDst bool, body func()) {
		seq++
		l := fmt.Sprintf("%s_%s%d", name, tag, seq)
		Load(Param("buf"), buf)
		if withSrc {
			Load(Param("src"), src)
		}
		if withDst {
			Load(Param("dst"), RDI)
		}
		Load(Param("m"), stats)
		IMULQ(n, stats)
		LEAQ(Mem{Base: buf, Index: stats, Scale: 4}, stats)
		Load(Param("m"), rows)
		Label(l + "_row")
		body()
		LEAQ(Mem{Base: buf, Index: n, Scale: 4}, buf)
		if withSrc {
			ADDQ(n, src)
		}
		if withDst {
			ADDQ(n, RDI)
		}
		ADDQ(Imm(4), stats)
		DECQ(rows)
		JNZ(LabelRef(l + "_row"))
	}

	// Pass 1: x = tab[uint8(code)], the terms, into the row; the maximum of
	// the prefix (acc from −Inf: max(−Inf, a) is a for every a, NaN too, as
	// rowMax's first vector), its lanes, then the tail in order.
	ninf := vec(12)
	MOVL(U32(0xff800000), EAX)
	VMOVD(EAX, ninf.AsX())
	VBROADCASTSS(ninf.AsX(), ninf)
	for _, r := range []GPPhysical{v1, k1, v2, k2} {
		XORQ(r, r)
	}
	mx := vec(6)
	idx, msk, x := vec(1), vec(2), vec(3)
	gather := func() {
		if wide {
			VPMOVZXBD(Mem{Base: src, Index: off, Scale: 1}, idx)
			KXNORW(K1, K1, K1)
			VGATHERDPS(Mem{Base: tab, Index: idx, Scale: 4}, K1, x)
		} else {
			VPMOVZXBD(Mem{Base: src, Index: off, Scale: 1}, idx)
			VPCMPEQD(msk, msk, msk)
			VGATHERDPS(msk, Mem{Base: tab, Index: idx, Scale: 4}, x)
		}
		for t, vk := range [][2]GPPhysical{{v1, k1}, {v2, k2}} {
			seq++
			l := fmt.Sprintf("%s_t%d_%d", name, t, seq)
			TESTQ(vk[0], vk[0])
			JZ(LabelRef(l + "_skip"))
			TESTQ(vk[1], vk[1])
			JZ(LabelRef(l + "_add"))
			VANDPS(Mem{Base: vk[1], Index: off, Scale: 4}, x, x)
			Label(l + "_add")
			VADDPS(Mem{Base: vk[0], Index: off, Scale: 4}, x, x)
			Label(l + "_skip")
		}
		VMOVUPS(x, fbuf(0))
	}
	overRows("x", true, false, func() {
		seq++
		lt := fmt.Sprintf("%s_xt%d", name, seq)
		TESTQ(tp, tp)
		JZ(LabelRef(lt + "_noterms"))
		MOVQ(Mem{Base: tp}, v1)
		MOVQ(Mem{Base: tp, Disp: 8}, k1)
		MOVQ(Mem{Base: tp, Disp: 16}, v2)
		MOVQ(Mem{Base: tp, Disp: 24}, k2)
		ADDQ(Imm(32), tp)
		Label(lt + "_noterms")
		VMOVAPS(ninf, mx)
		loop("x", false, func() {
			gather()
			VMAXPS(x, mx, mx)
		})
		CMPQ(n, nv)
		JE(LabelRef(lt + "_done"))
		tailOff()
		gather()
		Label(lt + "_done")
		reduceLanes(wide, 6, func(a, b, d Op) { VMAXPS(a, b, d) })
		// The tail's maximum in order: max = v > max ? v : max (MAXSS
		// keeps its second source on NaN).
		MOVQ(nv, off)
		Label(lt + "_max")
		CMPQ(off, n)
		JAE(LabelRef(lt + "_maxdone"))
		VMOVSS(fbuf(0), X0)
		VMAXSS(X6, X0, X6)
		INCQ(off)
		JMP(LabelRef(lt + "_max"))
		Label(lt + "_maxdone")
		VMOVSS(X6, Mem{Base: stats})
	})

	// Pass 2: the exponentials and the prefix's float32 sum, as
	// expShiftSum, under FTZ and DAZ.
	csr := ftzEnter(true) // gen_softmax.go
	shift, acc, tl := vec(15), vec(6), vec(7)
	preload, c := expRegs(wide, vec(5))
	preload()
	e, k, r, q, t := vec(0), vec(1), vec(2), vec(3), vec(4)
	expAt := func() {
		VMOVUPS(fbuf(0), e)
		VSUBPS(shift, e, e)
		expOf(wide, c, e, k, r, q, t)
	}
	overRows("e", false, false, func() {
		seq++
		le := fmt.Sprintf("%s_e%d", name, seq)
		VBROADCASTSS(Mem{Base: stats}, shift)
		prefix()
		CMPQ(n, nv)
		JE(LabelRef(le + "_notail"))
		tailOff()
		expAt()
		VMOVAPS(q, tl)
		Label(le + "_notail")
		VXORPS(acc, acc, acc)
		loop("e", false, func() {
			expAt()
			VMOVUPS(q, fbuf(0))
			VADDPS(q, acc, acc)
		})
		CMPQ(n, nv)
		JE(LabelRef(le + "_nostore"))
		tailOff()
		VMOVUPS(tl, fbuf(0))
		Label(le + "_nostore")
		if wide {
			VEXTRACTF64X4(Imm(1), Z6, Y7)
			VADDPS(Y7, Y6, Y6)
		}
		VEXTRACTF128(Imm(1), Y6, X7)
		VADDPS(X7, X6, X6)
		VHADDPS(X6, X6, X6)
		VHADDPS(X6, X6, X6)
		VMOVSS(X6, Mem{Base: stats})
	})
	ftzLeave(csr)

	// Pass 3: the tail's exponentials added in float64, in order;
	// stats[r] = float32(1/sum), under the caller's MXCSR.
	overRows("s", false, false, func() {
		seq++
		ls := fmt.Sprintf("%s_s%d", name, seq)
		VCVTSS2SD(Mem{Base: stats}, X6, X6)
		prefix()
		MOVQ(nv, off)
		Label(ls + "_sum")
		CMPQ(off, n)
		JAE(LabelRef(ls + "_sumdone"))
		VCVTSS2SD(fbuf(0), X0, X0)
		VADDSD(X0, X6, X6)
		INCQ(off)
		JMP(LabelRef(ls + "_sum"))
		Label(ls + "_sumdone")
		MOVQ(U64(0x3ff0000000000000), RAX)
		VMOVQ(RAX, X1)
		VDIVSD(X6, X1, X1)
		VCVTSD2SS(X1, X1, X1)
		VMOVSS(X1, Mem{Base: stats})
	})

	// Pass 4: scale, flush, quantize (rowScaleFlush, then quantizeF32AVX2),
	// under FTZ.
	csr2 := ftzEnter(false)
	inv, minv, zero := vec(15), vec(14), vec(13)
	sc, lo, hi, zp := vec(8), vec(9), vec(10), vec(11)
	MOVL(U32(0x00800000), EAX)
	VMOVD(EAX, X14)
	VBROADCASTSS(X14, minv)
	VXORPS(zero, zero, zero)
	p := R9
	Load(Param("p"), p)
	VBROADCASTSS(Mem{Base: p}, sc)
	VBROADCASTSS(Mem{Base: p, Disp: 4}, lo)
	VBROADCASTSS(Mem{Base: p, Disp: 8}, hi)
	VPBROADCASTD(Mem{Base: p, Disp: 12}, zp)
	dst := RDI // overRows loads it
	y := vec(0)
	overRows("q", false, true, func() {
		VBROADCASTSS(Mem{Base: stats}, inv)
		loop("q", true, func() {
			VMULPS(fbuf(0), inv, y)
			if wide {
				VCMPPS(Imm(0x15), minv, y, K1)
				VCMPPS(Imm(0x12), zero, y, K2)
				KORW(K2, K1, K1)
				VMOVAPS_Z(y, K1, y)
			} else {
				t1, t2 := vec(1), vec(2)
				VCMPPS(Imm(0x15), minv, y, t1)
				VCMPPS(Imm(0x12), zero, y, t2)
				VORPS(t2, t1, t1)
				VANDPS(t1, y, y)
			}
			VDIVPS(sc, y, y)
			clampCvtZP(y, lo, hi, zp)
			if wide {
				VPMOVSDB(y, Mem{Base: dst, Index: off, Scale: 1})
			} else {
				packStore8(y, vec(1), Mem{Base: dst, Index: off, Scale: 1})
			}
		})
	})
	ftzLeave(csr2)
	ret()
}
