package main

// The float epilogue of ONNX Runtime's dynamic-int8 MatMul (the "dynq" set,
// asm_dynq_amd64.s; twenty-third session). quantize_dynamic writes each
// Linear as DynamicQuantizeLinear → MatMulInteger → Cast → Mul by
// a_scale·b_scale → Add bias (DynamicQuantizeMatMul / MatMulIntegerToFloat
// once ONNX Runtime's optimizer fuses them); the executors ran the last three
// as separate passes over the int32 and float32 products, and the weight zero
// points' terms as scalar Go loops. Here one pass per row of the int32
// products: the zero points' terms (a row sum the GEMM computes as an extra
// column of ones, a constant per column), the conversion, the scale, the
// bias and a Relu after it, each lane one IEEE operation in the order of the
// chain, so the bits are those of the unfused operators.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// dynqKernels is called from main for -set dynq.
func dynqKernels() {
	dynqMask = avx2TailMask("dynqMask")
	for _, wide := range []bool{true, false} {
		for _, bias := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				dynqRows(wide, bias, relu)
			}
		}
	}
}

var dynqMask Mem

// dynqRows emits dynqRows{AVX512,AVX2}[Bias][Relu](dst *float32, ldd int,
// acc *int32, lda int, colk, z *int32, sc, bias *float32, n, rows int):
// for r < rows, c < n, with s = acc[r·lda+n] (the row's sum of A),
// v = acc[r·lda+c] − z[c]·s + colk[c] (int32, wrapping), y = float32(v)·sc[c]
// (+ bias[c]) (max(0, y) keeping NaN and −0 as Relu does), dst[r·ldd+c] = y.
func dynqRows(wide, bias, relu bool) {
	vec, lanes := vecRegs(wide)
	isa := "AVX2"
	if wide {
		isa = "AVX512"
	}
	name := "dynqRows" + isa
	what := "float32(v)·sc[c]"
	if bias {
		name += "Bias"
		what += " + bias[c]"
	}
	if relu {
		name += "Relu"
		what = "max(0, " + what + ")"
	}
	kernel(name, "func(dst *float32, ldd int, acc *int32, lda int, colk *int32, z *int32, sc *float32, bias *float32, n int, rows int)",
		fmt.Sprintf("%s sets dst[r·ldd+c] = %s, v = acc[r·lda+c] − z[c]·acc[r·lda+n] + colk[c], for r < rows, c < n (n ≥ 1; the row tail under a lane mask).", name, what))
	dst, ldd, acc, lda, rows := RDI, R8, RSI, R9, R11
	colk, z, sc, bs, n := R12, R13, R14, R15, R10
	cnt, tb, off := RCX, RBX, RAX
	loadArgs("dst ldd acc lda colk z sc bias n rows", dst, ldd, acc, lda, colk, z, sc, bs, n, rows)
	SHLQ(Imm(2), ldd)
	SHLQ(Imm(2), lda)
	sum, zero, mask := vec(0), vec(1), vec(2)
	v, t := vec(3), vec(4)
	if wide {
		VPXORD(zero, zero, zero)
	} else {
		VXORPS(zero, zero, zero)
	}
	// tail: tb = n mod lanes; the mask of its lanes.
	MOVQ(n, tb)
	ANDQ(Imm(uint64(lanes-1)), tb)
	if wide {
		MOVQ(U32(1), RDX)
		MOVQ(tb, RCX)
		SHLQ(CL, RDX)
		DECQ(RDX)
		KMOVW(EDX, K1)
	} else {
		MOVQ(U32(8), RDX)
		SUBQ(tb, RDX)
		LEAQ(dynqMask, RCX)
		VMOVDQU(Mem{Base: RCX, Index: RDX, Scale: 4}, mask)
	}
	step := func(loadI, loadF func(Mem, VecPhysical), store func(VecPhysical, Mem)) {
		loadI(Mem{Base: acc, Index: off, Scale: 1}, v)
		loadI(Mem{Base: z, Index: off, Scale: 1}, t)
		VPMULLD(sum, t, t)
		VPSUBD(t, v, v)
		loadI(Mem{Base: colk, Index: off, Scale: 1}, t)
		VPADDD(t, v, v)
		VCVTDQ2PS(v, v)
		loadF(Mem{Base: sc, Index: off, Scale: 1}, t)
		VMULPS(t, v, v)
		if bias {
			loadF(Mem{Base: bs, Index: off, Scale: 1}, t)
			VADDPS(t, v, v)
		}
		if relu {
			VMAXPS(v, zero, v)
		}
		store(v, Mem{Base: dst, Index: off, Scale: 1})
	}
	full := func(m Mem, r VecPhysical) { VMOVDQU(m, r) }
	if wide {
		full = func(m Mem, r VecPhysical) { VMOVDQU32(m, r) }
	}
	fullF := func(m Mem, r VecPhysical) { VMOVUPS(m, r) }
	fullStore := func(r VecPhysical, m Mem) { VMOVUPS(r, m) }
	var tailI, tailF func(Mem, VecPhysical)
	var tailStore func(VecPhysical, Mem)
	if wide {
		tailI = func(m Mem, r VecPhysical) { VMOVDQU32_Z(m, K1, r) }
		tailF = func(m Mem, r VecPhysical) { VMOVUPS_Z(m, K1, r) }
		tailStore = func(r VecPhysical, m Mem) { VMOVUPS(r, K1, m) }
	} else {
		tailI = func(m Mem, r VecPhysical) { VPMASKMOVD(m, mask, r) }
		tailF = func(m Mem, r VecPhysical) { VMASKMOVPS(m, mask, r) }
		tailStore = func(r VecPhysical, m Mem) { VMASKMOVPS(r, mask, m) }
	}
	TESTQ(rows, rows)
	JZ(LabelRef(name + "_done"))
	Label(name + "_row")
	// s = acc[r·lda + n], broadcast
	VPBROADCASTD(Mem{Base: acc, Index: n, Scale: 4}, sum)
	XORQ(off, off)
	MOVQ(n, cnt)
	SHRQ(Imm(uint64(map[bool]int{true: 4, false: 3}[wide])), cnt)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_col")
	step(full, fullF, fullStore)
	ADDQ(Imm(uint64(4*lanes)), off)
	DECQ(cnt)
	JNZ(LabelRef(name + "_col"))
	Label(name + "_tail")
	TESTQ(tb, tb)
	JZ(LabelRef(name + "_next"))
	step(tailI, tailF, tailStore)
	Label(name + "_next")
	ADDQ(ldd, dst)
	ADDQ(lda, acc)
	DECQ(rows)
	JNZ(LabelRef(name + "_row"))
	Label(name + "_done")
	ret()
}
