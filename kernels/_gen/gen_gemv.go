package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// sgemvPanels emits the matrix-vector product of a classifier head (Gemm
// with one input row) on the 16-wide column panels of kernels.PackedB
// ([k][16] each, pstride bytes apart): out[j·16 + l] = Σ_p a[p]·panel_j[p][l]
// for j < np, summed in p order from zero. np panels run together so that
// their sums are independent FMA chains; every weight is read once, where the
// 6-row GEMM tile computed five rows of nothing for it.
func sgemvPanels(wide bool, np int) {
	name := fmt.Sprintf("sgemvAVX2_%d", np)
	vec, lanes, isa := ymm, 8, "AVX2"
	if wide {
		name = fmt.Sprintf("sgemvAVX512_%d", np)
		vec, lanes, isa = zmm, 16, "AVX-512"
	}
	per := 16 / lanes // registers per panel
	TEXT(name, NOSPLIT, "func(a *float32, b *float32, k int, pstride int, out *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s (%s) writes out[j*16+l] = Σ_{p<k} a[p]·b[j*pstride/4 + p*16 + l] for %d panels j, k ≥ 1.", name, isa, np))
	a, b, k, ps, out := RSI, RDI, RCX, RDX, R8
	Load(Param("a"), a)
	Load(Param("b"), b)
	Load(Param("k"), k)
	Load(Param("pstride"), ps)
	Load(Param("out"), out)
	acc := func(j, r int) VecPhysical { return vec(j*per + r) }
	for j := 0; j < np; j++ {
		for r := 0; r < per; r++ {
			VXORPS(acc(j, r), acc(j, r), acc(j, r))
		}
	}
	// Panel j's base is b + j·pstride: b, b+ps, b+2ps, b+3ps via index scales.
	ps3 := R9
	LEAQ(Mem{Base: ps, Index: ps, Scale: 2}, ps3)
	x := vec(15)
	Label(name + "_loop")
	VBROADCASTSS(Mem{Base: a}, x)
	for j := 0; j < np; j++ {
		var m Mem
		switch j {
		case 0:
			m = Mem{Base: b}
		case 1:
			m = Mem{Base: b, Index: ps, Scale: 1}
		case 2:
			m = Mem{Base: b, Index: ps, Scale: 2}
		default:
			m = Mem{Base: b, Index: ps3, Scale: 1}
		}
		for r := 0; r < per; r++ {
			VFMADD231PS(m.Offset(4*lanes*r), x, acc(j, r))
		}
	}
	ADDQ(Imm(4), a)
	ADDQ(Imm(64), b)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	for j := 0; j < np; j++ {
		for r := 0; r < per; r++ {
			VMOVUPS(acc(j, r), Mem{Base: out}.Offset(64*j+4*lanes*r))
		}
	}
	VZEROUPPER()
	RET()
}

func sgemvKernels() {
	for _, wide := range []bool{true, false} {
		for _, np := range []int{1, 4} {
			sgemvPanels(wide, np)
		}
	}
}
