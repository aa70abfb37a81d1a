package main

// The few-row float32 GEMM kernels of kernels.SgemmPackedB (the "fewrows"
// set, asm_fewrows_amd64.s): C (mr rows, mr = 1..5) = A·B on the 16-wide
// PackedB panels with A read in place. The recurrent step of an LSTM or GRU
// multiplies the batch's one or two hidden-state rows by R at every time
// step; the 6x16 tile packed those rows into a six-row tile, computed four
// rows of zeros and went through a scratch tile, one 16-column panel a call
// (fourteenth session).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// fewRowsKernels is called from main for -set fewrows.
func fewRowsKernels() {
	for mr := 1; mr <= 5; mr++ {
		for _, ng := range []int{1, 4} {
			sgemmFewRows(true, mr, ng)
		}
	}
	for mr := 1; mr <= 5; mr++ {
		sgemmFewRows(false, mr, 1)
	}
	dequantRowAVX2(false)
	dequantRowAVX2(true)
}

// dequantRowAVX2 emits dequant{Set,Add}I32AVX2: the int8 recurrent steps'
// int32 products back to float32 gate pre-activations,
// dst[i] (+)= float32(acc[i] - zp·sum[i]) · (s·ws[i]), n a multiple of 8.
// One rounding per operation in the order of the Go reference
// (kernels.DequantRowI32): s·ws, the conversion, the product, the sum.
func dequantRowAVX2(add bool) {
	name := "dequantSetI32AVX2"
	if add {
		name = "dequantAddI32AVX2"
	}
	kernel(name, "func(dst *float32, acc *int32, sum *int32, ws *float32, n int, s float32, zp int32)",
		name+" sets (or adds to) dst[i] float32(acc[i]-zp*sum[i])*(s*ws[i]) for i < n, n a multiple of 8.")
	dst, acc, sum, ws, n := RDI, RSI, RDX, R8, RCX
	loadArgs("dst acc sum ws n", dst, acc, sum, ws, n)
	// Broadcast from the frame (VEX forms only: a legacy-SSE load here cost
	// more than the loop on the Xeon, with the vector state dirty).
	VBROADCASTSS(paramAddr("s"), Y14)
	VBROADCASTSS(paramAddr("zp"), Y15) // the int32 bits, broadcast as they are
	blocks("dq", n, 3, nil, func() {
		VPMULLD(Mem{Base: sum}, Y15, Y0)
		VMOVDQU(Mem{Base: acc}, Y1)
		VPSUBD(Y0, Y1, Y1)
		VCVTDQ2PS(Y1, Y1)
		VMULPS(Mem{Base: ws}, Y14, Y2)
		VMULPS(Y2, Y1, Y1)
		if add {
			VADDPS(Mem{Base: dst}, Y1, Y1)
		}
		VMOVUPS(Y1, Mem{Base: dst})
		ADDQ(Imm(32), dst)
		ADDQ(Imm(32), acc)
		ADDQ(Imm(32), sum)
		ADDQ(Imm(32), ws)
	})
}

// sgemmFewRows emits sgemmFewRows{AVX512,AVX2}_{mr}x{16·ng}: mr rows of A at
// a + r·lda floats (element p at +p), ng groups of 16 columns of B, group g's
// row p at b + g·gstride + 64·p bytes (PackedB panels: gstride is the panel
// size). Each accumulator starts at zero and takes the reduction steps in
// order, one FMA each, then C is added when accum != 0 before the store (C row
// r at c + r·ldc floats): the arithmetic of the 6x16 packed tile, so the
// result is bit-identical to it.
func sgemmFewRows(wide bool, mr, ng int) {
	vec, lanes := vecRegs(wide)
	isa, name := "AVX2", fmt.Sprintf("sgemmFewRowsAVX2_%dx%d", mr, 16*ng)
	if wide {
		isa, name = "AVX-512", fmt.Sprintf("sgemmFewRowsAVX512_%dx%d", mr, 16*ng)
	}
	per := 16 / lanes // registers per group of 16 columns
	kernel(name, "func(k int, a *float32, lda int, b *float32, gstride int, c *float32, ldc int, accum int)",
		fmt.Sprintf("%s (%s) computes C[r][g*16+l] (+)= Σ_{p<k} a[r*lda+p]·b[(g*gstride)/4 + 16p + l] for %d rows r and %d groups g of 16 columns, FMAs in p order from zero, C added last when accum != 0.", name, isa, mr, ng))
	k, b, gs := RCX, RDI, RDX
	rows := []GPPhysical{RSI, RBX, R9, R10, R11}[:mr]
	loadArgs("k a b gstride", k, rows[0], b, gs)
	Load(Param("lda"), R8)
	SHLQ(Imm(2), R8)
	for r := 1; r < mr; r++ {
		LEAQ(Mem{Base: rows[r-1], Index: R8, Scale: 1}, rows[r])
	}
	gs3 := R12
	acc := func(r, g, h int) VecPhysical { return vec((r*ng+g)*per + h) }
	nacc := mr * ng * per
	breg := func(g, h int) VecPhysical { return vec(nacc + g*per + h) }
	tmp := vec(nacc + ng*per)
	for i := 0; i < nacc; i++ {
		VXORPS(vec(i), vec(i), vec(i))
	}
	// kLoop (sgemm.go) counts with RDX: keep gstride in R13 instead.
	MOVQ(gs, R13)
	LEAQ(Mem{Base: R13, Index: R13, Scale: 2}, gs3)
	bmem := func(g int) Mem {
		switch g {
		case 0:
			return Mem{Base: b}
		case 1:
			return Mem{Base: b, Index: R13, Scale: 1}
		case 2:
			return Mem{Base: b, Index: R13, Scale: 2}
		default:
			return Mem{Base: b, Index: gs3, Scale: 1}
		}
	}
	TESTQ(k, k)
	JZ(LabelRef(name + "_store"))
	kLoop(name, k, func(u int) {
		for g := 0; g < ng; g++ {
			for h := 0; h < per; h++ {
				VMOVUPS(bmem(g).Offset(64*u+4*lanes*h), breg(g, h))
			}
		}
		for r := 0; r < mr; r++ {
			am := Mem{Base: rows[r], Disp: 4 * u}
			if wide {
				for g := 0; g < ng; g++ {
					VFMADD231PS_BCST(am, breg(g, 0), acc(r, g, 0))
				}
				continue
			}
			VBROADCASTSS(am, tmp)
			for g := 0; g < ng; g++ {
				for h := 0; h < per; h++ {
					VFMADD231PS(breg(g, h), tmp, acc(r, g, h))
				}
			}
		}
	}, func(n int) {
		for _, r := range rows {
			ADDQ(Imm(uint64(4*n)), r)
		}
		ADDQ(U32(uint64(64*n)), b)
	})
	Label(name + "_store")
	c, ldc := RDI, RSI
	loadArgs("c ldc", c, ldc)
	SHLQ(Imm(2), ldc)
	Load(Param("accum"), RAX)
	each := func(op func(m Mem, v VecPhysical)) {
		MOVQ(c, RDX)
		for r := 0; r < mr; r++ {
			for g := 0; g < ng; g++ {
				for h := 0; h < per; h++ {
					op(Mem{Base: RDX, Disp: 64*g + 4*lanes*h}, acc(r, g, h))
				}
			}
			if r < mr-1 {
				ADDQ(ldc, RDX)
			}
		}
	}
	TESTQ(RAX, RAX)
	JZ(LabelRef(name + "_noacc"))
	each(func(m Mem, v VecPhysical) { VADDPS(m, v, v) })
	Label(name + "_noacc")
	each(func(m Mem, v VecPhysical) { VMOVUPS(v, m) })
	ret()
}
