package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// sgemvRows emits the one-row product (a Gemm head, or a 1x1 convolution on
// a single pixel: squeeze-excite) of kernels.SgemmRows on the weight panels
// of kernels.RowsB and of kernels.SgemmPackedB on those of kernels.PackedB:
// ng groups of 16 output columns, group g's row p at b + g·gstride + p·pstep
// bytes (gstride 64 and pstep 256 inside one 64-wide RowsB panel; gstride
// the panel size and pstep 64 across 16-wide panels, the PackedB layout).
// The accumulators start from init (the bias, or zeros) and take the
// reduction steps in order with one FMA each, the arithmetic of the 6-row
// tile kernel of SgemmRows, so the result is bit-identical to it; every
// weight is read once where the tile computed five rows of nothing for it.
// The ng groups run together so that their sums are independent FMA chains.
func sgemvRows(wide bool, ng int) {
	name := fmt.Sprintf("sgemvRowsAVX2_%d", ng)
	vec, lanes, isa := ymm, 8, "AVX2"
	if wide {
		name = fmt.Sprintf("sgemvRowsAVX512_%d", ng)
		vec, lanes, isa = zmm, 16, "AVX-512"
	}
	per := 16 / lanes // registers per group of 16 columns
	kernel(name, "func(k int, a *float32, b *float32, gstride int, pstep int, init *float32, out *float32)",
		fmt.Sprintf("%s (%s) writes out[g*16+l] = init[g*16+l] + Σ_{p<k} a[p]·b[(g*gstride + p*pstep)/4 + l] for %d groups g of 16 columns, FMAs in p order.", name, isa, ng))
	k, a, b, gs, ps, in, out := RCX, RSI, RDI, RDX, R8, R9, R10
	loadArgs("k a b gstride pstep init out", k, a, b, gs, ps, in, out)
	acc := func(g, r int) VecPhysical { return vec(g*per + r) }
	for g := 0; g < ng; g++ {
		for r := 0; r < per; r++ {
			VMOVUPS(Mem{Base: in}.Offset(64*g+4*lanes*r), acc(g, r))
		}
	}
	gs3 := R11
	LEAQ(Mem{Base: gs, Index: gs, Scale: 2}, gs3)
	x := vec(15)
	TESTQ(k, k)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	VBROADCASTSS(Mem{Base: a}, x)
	for g := 0; g < ng; g++ {
		var m Mem
		switch g {
		case 0:
			m = Mem{Base: b}
		case 1:
			m = Mem{Base: b, Index: gs, Scale: 1}
		case 2:
			m = Mem{Base: b, Index: gs, Scale: 2}
		default:
			m = Mem{Base: b, Index: gs3, Scale: 1}
		}
		for r := 0; r < per; r++ {
			VFMADD231PS(m.Offset(4*lanes*r), x, acc(g, r))
		}
	}
	ADDQ(Imm(4), a)
	ADDQ(ps, b)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	for g := 0; g < ng; g++ {
		for r := 0; r < per; r++ {
			VMOVUPS(acc(g, r), Mem{Base: out}.Offset(64*g+4*lanes*r))
		}
	}
	ret()
}

// sgemvRowsKernels generates the one-row kernels of SgemmRows and
// SgemmPackedB: four groups (one 64-wide panel or four 16-wide ones) and one
// group (the last panels).
func sgemvRowsKernels() {
	for _, wide := range []bool{true, false} {
		for _, ng := range []int{1, 4} {
			sgemvRows(wide, ng)
		}
	}
}
