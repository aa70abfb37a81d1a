package main

// The float32 broadcasting binary blocks (the "bcast" set, asm_bcast_amd64.s;
// twentieth session): dst[r·w+i] = x[r·xs+i·xi] op y[r·ys+i·yi] for rows r and
// columns i, op one of Add, Sub, Mul, Div, with the column strides xi, yi fixed
// per kernel (VV: both 1, VS: y repeated along the row, SV: x repeated). One
// call covers the two innermost axes of a collapsed broadcast (a bias row, a
// per-row scale, an outer product [R,1]x[1,C]), so a small row (Mamba's 8
// states) is one masked vector, not a Go loop entered per row. The tail of a
// row is loaded and stored under a lane mask (AVX-512: k1; AVX2: VMASKMOVPS),
// never read past it. Each lane is one IEEE operation, the bits of Go's
// scalar x op y.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// bcastKernels is called from main for -set bcast.
func bcastKernels() {
	bcastTailMask = avx2TailMask("bcastTailMask")
	for _, wide := range []bool{true, false} {
		for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
			for _, mode := range []string{"VV", "VS", "SV"} {
				bcastBlock(wide, op, mode)
			}
		}
	}
	dequantKernels()
}

// bcastTailMask is the AVX2 lane-mask table of bcastBlock.
var bcastTailMask Mem

// bcastOp emits dst = a op b (a, b vector registers or b a memory operand).
func bcastOp(op string, b Op, a, dst VecPhysical) {
	switch op {
	case "Add":
		VADDPS(b, a, dst)
	case "Sub":
		VSUBPS(b, a, dst)
	case "Mul":
		VMULPS(b, a, dst)
	case "Div":
		VDIVPS(b, a, dst)
	}
}

// bcastBlock emits binF32{op}{mode}{AVX512,AVX2}(dst, x *float32, xs int, y
// *float32, ys int, w, rows int): rows rows of w ≥ 1 columns, row strides xs
// and ys in elements (0: the same row again).
func bcastBlock(wide bool, op, mode string) {
	vec, lanes := vecRegs(wide)
	isa := "AVX2"
	if wide {
		isa = "AVX512"
	}
	name := fmt.Sprintf("binF32%s%s%s", op, mode, isa)
	what := map[string]string{"VV": "x[r·xs+i] op y[r·ys+i]", "VS": "x[r·xs+i] op y[r·ys]", "SV": "x[r·xs] op y[r·ys+i]"}[mode]
	kernel(name, "func(dst *float32, x *float32, xs int, y *float32, ys int, w int, rows int)",
		fmt.Sprintf("%s sets dst[r·w+i] = %s (%s) for r < rows, i < w (w ≥ 1; the row tail under a lane mask).", name, what, op))
	dst, x, xs, y, ys, rows := RDI, RSI, R8, RDX, R9, R11
	nv, xa, ya, c, tb := R10, R12, R13, R14, RBX
	loadArgs("dst x xs y ys rows", dst, x, xs, y, ys, rows)
	SHLQ(Imm(2), xs)
	SHLQ(Imm(2), ys)
	// nv full vectors per row; tb = 4·(w mod lanes) bytes in the tail.
	Load(Param("w"), nv)
	MOVQ(nv, RCX)
	ANDQ(Imm(uint64(lanes-1)), RCX)
	MOVQ(RCX, tb)
	SHLQ(Imm(2), tb)
	shift := uint64(3)
	if wide {
		shift = 4
	}
	SHRQ(Imm(shift), nv)
	mask := vec(7)
	if wide {
		MOVL(U32(1), EAX)
		SHLL(CL, EAX)
		DECL(EAX)
		KMOVW(EAX, K1)
	} else {
		// mask = bcastTailMask[8-t : 16-t]
		MOVQ(U64(8), RAX)
		SUBQ(RCX, RAX)
		LEAQ(bcastTailMask, RCX)
		VMOVDQU(Mem{Base: RCX, Index: RAX, Scale: 4}, mask)
	}
	TESTQ(rows, rows)
	JZ(LabelRef(name + "_done"))
	Label(name + "_row")
	MOVQ(x, xa)
	MOVQ(y, ya)
	bx, by := vec(4), vec(5)
	switch mode {
	case "VS":
		VBROADCASTSS(Mem{Base: y}, by)
	case "SV":
		VBROADCASTSS(Mem{Base: x}, bx)
	}
	MOVQ(nv, c)
	TESTQ(c, c)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_vec")
	switch mode {
	case "VV":
		VMOVUPS(Mem{Base: xa}, vec(0))
		bcastOp(op, Mem{Base: ya}, vec(0), vec(0))
	case "VS":
		VMOVUPS(Mem{Base: xa}, vec(0))
		bcastOp(op, by, vec(0), vec(0))
	case "SV":
		bcastOp(op, Mem{Base: ya}, bx, vec(0))
	}
	VMOVUPS(vec(0), Mem{Base: dst})
	step := uint64(4 * lanes)
	if mode != "SV" {
		ADDQ(U32(step), xa)
	}
	if mode != "VS" {
		ADDQ(U32(step), ya)
	}
	ADDQ(U32(step), dst)
	loopBack(c, name+"_vec")
	Label(name + "_tail")
	TESTQ(tb, tb)
	JZ(LabelRef(name + "_next"))
	load := func(m Mem, v VecPhysical) {
		if wide {
			VMOVUPS_Z(m, K1, v)
		} else {
			VMASKMOVPS(m, mask, v)
		}
	}
	switch mode {
	case "VV":
		load(Mem{Base: xa}, vec(0))
		load(Mem{Base: ya}, vec(1))
		bcastOp(op, vec(1), vec(0), vec(0))
	case "VS":
		load(Mem{Base: xa}, vec(0))
		bcastOp(op, by, vec(0), vec(0))
	case "SV":
		load(Mem{Base: ya}, vec(1))
		bcastOp(op, vec(1), bx, vec(0))
	}
	if wide {
		VMOVUPS(vec(0), K1, Mem{Base: dst})
	} else {
		VMASKMOVPS(vec(0), mask, Mem{Base: dst})
	}
	ADDQ(tb, dst)
	Label(name + "_next")
	ADDQ(xs, x)
	ADDQ(ys, y)
	loopBack(rows, name+"_row")
	Label(name + "_done")
	ret()
}

// dequantKernels emits dequant{I8,U8}F32{AVX512,AVX2}(dst *float32, src *T,
// n int, zp, scale float32): dst[i] = (float32(src[i]) - zp)·scale, an exact
// subtraction (two integers below 2^24) and one rounded product, so the bits of the runtime's dequantization table
// float32(q-zp)·scale; n a multiple of four vectors. A large DequantizeLinear
// (the int8 cdist's [256,200,56] difference) looked each element up in Go.
func dequantKernels() {
	for _, wide := range []bool{true, false} {
		for _, src := range []string{"I8", "U8"} {
			vec, lanes := vecRegs(wide)
			isa := "AVX2"
			if wide {
				isa = "AVX512"
			}
			name := fmt.Sprintf("dequant%sF32%s", src, isa)
			typ := map[string]string{"U8": "uint8", "I8": "int8"}[src]
			kernel(name, fmt.Sprintf("func(dst *float32, src *%s, n int, zp float32, scale float32)", typ),
				fmt.Sprintf("%s writes dst[i] = (float32(src[i]) - zp)·scale for n elements, n a multiple of %d.", name, 4*lanes))
			dst, s, n := RDI, RSI, RCX
			loadArgs("dst src n", dst, s, n)
			vz, vs := vec(8), vec(9)
			VBROADCASTSS(paramAddr("zp"), vz)
			VBROADCASTSS(paramAddr("scale"), vs)
			TESTQ(n, n)
			JZ(LabelRef(name + "_done"))
			Label(name + "_loop")
			for u := 0; u < 4; u++ {
				x := vec(u)
				m := Mem{Base: s, Disp: lanes * u}
				if src == "U8" {
					VPMOVZXBD(m, x)
				} else {
					VPMOVSXBD(m, x)
				}
				VCVTDQ2PS(x, x)
				VSUBPS(vz, x, x)
				VMULPS(vs, x, x)
				VMOVUPS(x, Mem{Base: dst, Disp: 4 * lanes * u})
			}
			ADDQ(U32(uint64(4*lanes)), s)
			ADDQ(U32(uint64(16*lanes)), dst)
			SUBQ(Imm(uint64(4*lanes)), n)
			JNZ(LabelRef(name + "_loop"))
			Label(name + "_done")
			ret()
		}
	}
}
