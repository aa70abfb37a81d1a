package main

// The per-channel affine map of the preprocessing chains (the "affine" set,
// asm_affine_amd64.s): dst = float32(src)·a + b over a run of one channel,
// from uint8, int8 or float32. An exported model that takes uint8 pixels
// spells x/255, (x − mean)/std as Cast, Div, Sub, Div, four passes with a
// scalar conversion (fourteenth session); the runtime folds the chain into
// one such map per channel (runtime/fuse_affine.go).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// affineKernels is called from main for -set affine.
func affineKernels() {
	for _, wide := range []bool{true, false} {
		for _, src := range []string{"U8", "I8", "F32"} {
			affineMap(wide, src)
		}
	}
}

// affineMap emits affine{U8,I8,F32}F32{AVX512,AVX2}(dst *float32, src
// *T, n int, a, b float32): dst[i] = float32(src[i])·a + b with one FMA (a
// single rounding) for n elements, n a multiple of four vectors.
func affineMap(wide bool, src string) {
	vec, lanes := vecRegs(wide)
	isa := "AVX2"
	if wide {
		isa = "AVX512"
	}
	name := fmt.Sprintf("affine%sF32%s", src, isa)
	typ := map[string]string{"U8": "uint8", "I8": "int8", "F32": "float32"}[src]
	size := map[string]int{"U8": 1, "I8": 1, "F32": 4}[src]
	kernel(name, fmt.Sprintf("func(dst *float32, src *%s, n int, a float32, b float32)", typ),
		fmt.Sprintf("%s writes dst[i] = float32(src[i])·a + b (one FMA) for n elements, n a multiple of %d.", name, 4*lanes))
	dst, s, n := RDI, RSI, RCX
	loadArgs("dst src n", dst, s, n)
	va, vb := vec(8), vec(9)
	VBROADCASTSS(paramAddr("a"), va)
	VBROADCASTSS(paramAddr("b"), vb)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	for u := 0; u < 4; u++ {
		x := vec(u)
		m := Mem{Base: s, Disp: size * lanes * u}
		switch src {
		case "U8":
			VPMOVZXBD(m, x)
			VCVTDQ2PS(x, x)
		case "I8":
			VPMOVSXBD(m, x)
			VCVTDQ2PS(x, x)
		default:
			VMOVUPS(m, x)
		}
		VFMADD213PS(vb, va, x)
		VMOVUPS(x, Mem{Base: dst, Disp: 4 * lanes * u})
	}
	ADDQ(U32(uint64(size*4*lanes)), s)
	ADDQ(U32(uint64(16*lanes)), dst)
	SUBQ(Imm(uint64(4*lanes)), n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	ret()
}
