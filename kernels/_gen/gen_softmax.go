package main

// The exponentials of Softmax: dst = exp(src − shift) with the sum of the
// results returned, one pass per row (the row maximum is the shift), on
// AVX-512 and AVX2. The exp is the Cephes expf of gen_depthwise.go (a few ulp
// of float32).

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// transformerKernels is called from main.
func transformerKernels() {
	expShiftSum(true)
	expShiftSum(false)
}

// expShiftSum emits expShiftSumAVX512 (wide) or expShiftSumAVX2.
func expShiftSum(wide bool) {
	name, width, vec := "expShiftSumAVX2", 8, func(i int) VecPhysical { return ymm(i) }
	if wide {
		name, width, vec = "expShiftSumAVX512", 16, func(i int) VecPhysical { return zmm(i) }
	}
	kernel(name, "func(dst *float32, src *float32, n int, shift float32) float32",
		fmt.Sprintf("%s writes exp(src[i] − shift) to dst[i] for n floats (n a multiple of %d) and returns their sum.", name, width))
	dst, src, n := RDI, RSI, RCX
	loadArgs("dst src n shift", dst, src, n, X15)
	shift, acc := vec(15), vec(6)
	VBROADCASTSS(X15, shift)
	VXORPS(acc, acc, acc)
	names := []string{"expHi", "expLo", "log2e", "ln2hi", "ln2lo", "p0", "p1", "p2", "p3", "p4", "p5", "one"}
	// c returns constant name in a register: preloaded (zmm16 and up) on
	// AVX-512, broadcast into scratch on AVX2 (16 ymm registers only).
	scratch := vec(5)
	c := func(nm string) VecPhysical {
		for i, s := range names {
			if s == nm && wide {
				return zmm(16 + i)
			}
		}
		VBROADCASTSS(expConst(nm), scratch)
		return scratch
	}
	if wide {
		for i, nm := range names {
			VBROADCASTSS(expConst(nm), zmm(16+i))
		}
	}
	x, k, r, p, t := vec(0), vec(1), vec(2), vec(3), vec(4)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: src}, x)
	VSUBPS(shift, x, x)
	VMINPS(c("expHi"), x, x)
	VMAXPS(c("expLo"), x, x)
	VMULPS(c("log2e"), x, k)
	if wide {
		VRNDSCALEPS(Imm(0), k, k)
	} else {
		VROUNDPS(Imm(0), k, k)
	}
	VMOVAPS(x, r)
	VFNMADD231PS(c("ln2hi"), k, r)
	VFNMADD231PS(c("ln2lo"), k, r)
	if wide {
		VMOVAPS(c("p0"), p)
	} else {
		VBROADCASTSS(expConst("p0"), p)
	}
	for i := 1; i <= 5; i++ {
		VFMADD213PS(c(fmt.Sprintf("p%d", i)), r, p)
	}
	VMULPS(r, r, t)
	VFMADD213PS(r, t, p) // p·r² + r
	VADDPS(c("one"), p, p)
	if wide {
		VSCALEFPS(k, p, p)
	} else {
		// 2^k: add k to the exponent field.
		VCVTPS2DQ(k, k)
		VPSLLD(Imm(23), k, k)
		VPADDD(k, p, p)
	}
	VMOVUPS(p, Mem{Base: dst})
	VADDPS(p, acc, acc)
	ADDQ(Imm(uint64(4*width)), src)
	ADDQ(Imm(uint64(4*width)), dst)
	SUBQ(Imm(uint64(width)), n)
	JNZ(LabelRef(name + "_loop"))
	if wide {
		VEXTRACTF64X4(Imm(1), Z6, Y7)
		VADDPS(Y7, Y6, Y6)
	}
	VEXTRACTF128(Imm(1), Y6, X7)
	VADDPS(X7, X6, X6)
	VHADDPS(X6, X6, X6)
	VHADDPS(X6, X6, X6)
	VZEROUPPER()
	Store(X6, ReturnIndex(0))
	RET()
}
