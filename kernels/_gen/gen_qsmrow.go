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
	qsmRow(true)
	qsmRow(false)
}

// qsmRow emits qsmRowAVX512 (wide) or qsmRowAVX2.
func qsmRow(wide bool) {
	name := rowName("qsmRow", wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *int8, src *int8, n int, tab *float32, buf *float32, v1 *float32, k1 *uint32, v2 *float32, k2 *uint32, p *[4]int32)",
		fmt.Sprintf("%s writes the int8 softmax of one row of n int8 scores (n ≥ 16) mapped through tab, with up to two terms (v nil: none; k nil: an Add, else a select), quantized with p = [bits(scale), bits(−128−zp), bits(127−zp), zp], as the Go path does; buf is scratch of n floats.", name))
	dst, src, n, tab, buf := RDI, RSI, RCX, RDX, R8
	v1, k1, v2, k2, p := R9, R10, R11, R12, R13
	loadArgs("dst src n tab buf v1 k1 v2 k2 p", dst, src, n, tab, buf, v1, k1, v2, k2, p)
	off, nv := RBX, RAX
	prefix := func() { // nv = n rounded down to the width (RAX: after ftzEnter)
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

	// Pass 1: x = tab[uint8(code)], the terms, into buf; the maximum of the
	// prefix (acc from −Inf: max(−Inf, a) is a for every a, NaN too, as
	// rowMax's first vector).
	mx := vec(6)
	MOVL(U32(0xff800000), EAX)
	VMOVD(EAX, X6)
	VBROADCASTSS(X6, mx)
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
	loop("x", false, func() {
		gather()
		VMAXPS(x, mx, mx)
	})
	seq++
	lt := fmt.Sprintf("%s_xt%d", name, seq)
	CMPQ(n, nv)
	JE(LabelRef(lt + "_done"))
	tailOff()
	gather()
	Label(lt + "_done")
	reduceLanes(wide, 6, func(a, b, d Op) { VMAXPS(a, b, d) })
	// The tail's maximum in order: max = v > max ? v : max (MAXSS keeps its
	// second source on NaN).
	MOVQ(nv, off)
	Label(lt + "_max")
	CMPQ(off, n)
	JAE(LabelRef(lt + "_maxdone"))
	VMOVSS(fbuf(0), X0)
	VMAXSS(X6, X0, X6)
	INCQ(off)
	JMP(LabelRef(lt + "_max"))
	Label(lt + "_maxdone")

	// Pass 2: the exponentials and their sum, as expShiftSum.
	csr := ftzEnter(true) // gen_softmax.go
	shift, acc, tl := vec(15), vec(6), vec(7)
	VBROADCASTSS(X6, shift)
	preload, c := expRegs(wide, vec(5))
	preload()
	e, k, r, q, t := vec(0), vec(1), vec(2), vec(3), vec(4)
	expAt := func() {
		VMOVUPS(fbuf(0), e)
		VSUBPS(shift, e, e)
		expOf(wide, c, e, k, r, q, t)
	}
	prefix()
	seq++
	le := fmt.Sprintf("%s_e%d", name, seq)
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
	ftzLeave(csr)
	// The tail's exponentials added in float64, in order; inv = float32(1/sum).
	VCVTSS2SD(X6, X6, X6)
	prefix()
	MOVQ(nv, off)
	Label(le + "_sum")
	CMPQ(off, n)
	JAE(LabelRef(le + "_sumdone"))
	VCVTSS2SD(fbuf(0), X0, X0)
	VADDSD(X0, X6, X6)
	INCQ(off)
	JMP(LabelRef(le + "_sum"))
	Label(le + "_sumdone")
	MOVQ(U64(0x3ff0000000000000), RAX)
	VMOVQ(RAX, X1)
	VDIVSD(X6, X1, X1)
	VCVTSD2SS(X1, X1, X1)

	// Pass 3: scale, flush, quantize (rowScaleFlush, then quantizeF32AVX2).
	csr2 := ftzEnter(false)
	inv, minv, zero := vec(15), vec(14), vec(13)
	sc, lo, hi, zp := vec(8), vec(9), vec(10), vec(11)
	VBROADCASTSS(X1, inv)
	MOVL(U32(0x00800000), EAX)
	VMOVD(EAX, X14)
	VBROADCASTSS(X14, minv)
	VXORPS(zero, zero, zero)
	VBROADCASTSS(Mem{Base: p}, sc)
	VBROADCASTSS(Mem{Base: p, Disp: 4}, lo)
	VBROADCASTSS(Mem{Base: p, Disp: 8}, hi)
	VPBROADCASTD(Mem{Base: p, Disp: 12}, zp)
	y := vec(0)
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
	ftzLeave(csr2)
	ret()
}
