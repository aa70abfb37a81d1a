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
	rowStatsKernels() // gen_rowstats.go
}

// expShiftSum emits expShiftSumAVX512 (wide) or expShiftSumAVX2.
func expShiftSum(wide bool) {
	name := "expShiftSumAVX2"
	if wide {
		name = "expShiftSumAVX512"
	}
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, src *float32, n int, shift float32) float32",
		fmt.Sprintf("%s writes exp(src[i] − shift) to dst[i] for n floats (n a multiple of %d) and returns their sum.", name, width))
	dst, src, n := RDI, RSI, RCX
	loadArgs("dst src n shift", dst, src, n, X15)
	// Scores 87 or more below the row's maximum (masked entries: −Inf,
	// −1e4, finfo.min) give subnormal exponentials, and each subnormal
	// result or operand took a microcode assist: a 96-wide row half masked
	// ran in 2-3 µs instead of 60 ns (eighteenth session). See ftzEnter.
	csr := ftzEnter(true)
	shift, acc := vec(15), vec(6)
	VBROADCASTSS(X15, shift)
	VXORPS(acc, acc, acc)
	preload, c := expRegs(wide, vec(5))
	preload()
	x, k, r, p, t := vec(0), vec(1), vec(2), vec(3), vec(4)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: src}, x)
	VSUBPS(shift, x, x)
	expOf(wide, c, x, k, r, p, t)
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
	ftzLeave(csr)
	Store(X6, ReturnIndex(0))
	RET()
}

// ftzEnter sets flush-to-zero (and, with daz, denormals-are-zero) in MXCSR, keeping the
// caller's value in a local slot for ftzLeave. For the Softmax row kernels
// (expShiftSum, rowScaleFlush): the exponentials of masked scores are below
// 2⁻¹²⁶, and without FTZ/DAZ every subnormal result or operand costs a
// microcode assist. The results are unchanged: the probabilities' subnormals
// are flushed to zero anyway (rowScaleFlush), and next to a row sum of at
// least 1 (the maximum's exp(0)) a subnormal term is far below its rounding.
// Hand-written assembly is never preempted asynchronously, so no other Go
// code runs on the thread with the changed MXCSR (a signal handler gets a
// fresh floating-point state from the kernel).
func ftzEnter(daz bool) Mem {
	csr := AllocLocal(8)
	STMXCSR(csr)
	MOVL(csr, EAX)
	bits := uint32(0x8000) // FTZ (bit 15)
	if daz {
		bits |= 0x40 // DAZ (bit 6)
	}
	ORL(U32(bits), EAX)
	MOVL(EAX, csr.Offset(4))
	LDMXCSR(csr.Offset(4))
	return csr
}

// ftzLeave restores the MXCSR ftzEnter saved.
func ftzLeave(csr Mem) {
	LDMXCSR(csr)
}
