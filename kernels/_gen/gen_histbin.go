package main

// The "histbin" set: the binning loop of the calibration histograms
// (kernels/histbin.go, asm_histbin_amd64.s).
//
// Per value: the grid index floor(x·inv) - lo in float64 (x·inv is exact:
// inv is a power of two), a bounds check against the grid, one counter
// increment, the running min and max, the zero count and the run test (x
// equal to prev[i] or next[i] and not zero). The arithmetic is vector work;
// the increments are scalar (a scatter-add has no vector form that beats
// memory increments here: VPCONFLICTD costs more than it saves on the
// skewed data of activations). Lane i of a vector increments table i&3, so
// that a run of values in one bin (the mass near zero) is spread over four
// counters instead of waiting on one (store-to-load forwarding, ~5 cycles a
// step); the caller sums the tables. A vector with a lane outside the grid
// (or NaN, ±Inf: their index converts to the integer indefinite value) stops
// the loop before any of its counts, and the kernel returns how many values
// it had binned.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func histbinKernels() {
	histBinKernel(true)
	histBinKernel(false)
}

// Offsets in the accumulator (kernels.BinAcc): lane minima, lane maxima, the
// zero count, the index scratch.
const (
	binAccMin   = 0
	binAccMax   = 64
	binAccZeros = 128
	binAccIdx   = 192
)

// histBinKernel emits histBinF32AVX512 (16 lanes, the index rounded down by
// the conversion itself, {rd-sae}) or histBinF32AVX2 (8 lanes, VROUNDPD then a
// truncating conversion).
func histBinKernel(wide bool) {
	name, width, p := "histBinF32AVX2", 8, "hb2"
	if wide {
		name, width, p = "histBinF32AVX512", 16, "hb5"
	}
	kernel(name, "func(x *float32, prev *float32, next *float32, n int, inv float64, lo int32, nb int32, t0 *uint32, t1 *uint32, t2 *uint32, t3 *uint32, reps *uint32, acc *float32) int",
		name+" bins x[:n] (n a multiple of the vector width) into the tables t0..t3 (lane i into t[i&3]) on the grid floor(x*inv)-lo < nb,",
		"counts the values equal to prev[i] or next[i] (bits) and not zero into reps, and updates acc's lane min/max and zero count;",
		"it returns the number of values binned (less than n when a vector has a value outside the grid).")
	x, prev, next, n := RSI, RDX, R8, RCX
	tabs := []GPPhysical{R9, R10, R11, R12}
	reps, zeros, acc, runs := R13, R14, RDI, EBX
	loadArgs("x prev next n t0 t1 t2 t3 reps acc", x, prev, next, n, tabs[0], tabs[1], tabs[2], tabs[3], reps, acc)
	MOVQ(Mem{Base: acc, Disp: binAccZeros}, zeros)
	idx := func(l int) Mem { return Mem{Base: acc, Disp: binAccIdx + 4*l} }
	// increments counts every lane's index into its table.
	increments := func() {
		for l := 0; l < width; l++ {
			r := []GPPhysical{RAX, R15}[l&1]
			MOVL(idx(l), r.As32())
			INCL(Mem{Base: tabs[l&3], Index: r, Scale: 4})
		}
	}
	if wide {
		inv, lo, nb, mn, mx := Z31, Z30, Z29, Z28, Z27
		VBROADCASTSD(paramAddr("inv"), inv)
		broadcastArg("lo", lo)
		broadcastArg("nb", nb)
		VMOVUPS(Mem{Base: acc, Disp: binAccMin}, mn)
		VMOVUPS(Mem{Base: acc, Disp: binAccMax}, mx)
		SHRQ(Imm(4), n)
		JZ(LabelRef(p + "_done"))
		Label(p + "_loop")
		VMOVUPS(Mem{Base: x}, Z0)
		VCVTPS2PD(Mem{Base: x}, Z1)
		VCVTPS2PD(Mem{Base: x, Disp: 32}, Z2)
		VMULPD(inv, Z1, Z1)
		VMULPD(inv, Z2, Z2)
		VCVTPD2DQ_RD_SAE(Z1, Y1)
		VCVTPD2DQ_RD_SAE(Z2, Y2)
		VINSERTI64X4(Imm(1), Y2, Z1, Z1)
		VPSUBD(lo, Z1, Z1)
		VPCMPUD(Imm(1), nb, Z1, K1) // k < nb, unsigned: a negative k is outside too
		KORTESTW(K1, K1)
		JCC(LabelRef(p + "_out")) // CF is set only when every lane is inside
		VMOVDQU32(Z1, idx(0))
		VMINPS(Z0, mn, mn)
		VMAXPS(Z0, mx, mx)
		// zeros: the bits without the sign are 0
		VPSLLD(Imm(1), Z0, Z3)
		VPTESTNMD(Z3, Z3, K2)
		KMOVW(K2, EAX)
		POPCNTL(EAX, EAX)
		ADDQ(RAX, zeros)
		// runs: equal bits to a neighbour, not zero
		VPCMPEQD(Mem{Base: prev}, Z0, K3)
		VPCMPEQD(Mem{Base: next}, Z0, K4)
		KORW(K4, K3, K3)
		KANDNW(K3, K2, K3) // K3 = ^K2 & K3
		KMOVW(K3, runs)
		increments()
		TESTL(runs, runs)
		JNZ(LabelRef(p + "_runs"))
		Label(p + "_next")
		ADDQ(Imm(64), x)
		ADDQ(Imm(64), prev)
		ADDQ(Imm(64), next)
		DECQ(n)
		JNZ(LabelRef(p + "_loop"))
		JMP(LabelRef(p + "_done"))
		runLanes(p, reps, runs, idx)
		Label(p + "_done")
		VMOVUPS(mn, Mem{Base: acc, Disp: binAccMin})
		VMOVUPS(mx, Mem{Base: acc, Disp: binAccMax})
		Label(p + "_out")
		MOVQ(zeros, Mem{Base: acc, Disp: binAccZeros})
		binDone(x)
		ret()
		return
	}
	inv, lo, nb, mn, mx, minus1, zero := Y15, Y14, Y13, Y12, Y11, Y10, Y9
	VBROADCASTSD(paramAddr("inv"), inv)
	broadcastArg("lo", lo)
	broadcastArg("nb", nb)
	VPCMPEQD(minus1, minus1, minus1)
	VPXOR(zero, zero, zero)
	VMOVUPS(Mem{Base: acc, Disp: binAccMin}, mn)
	VMOVUPS(Mem{Base: acc, Disp: binAccMax}, mx)
	SHRQ(Imm(3), n)
	JZ(LabelRef(p + "_done"))
	Label(p + "_loop")
	VMOVUPS(Mem{Base: x}, Y0)
	VCVTPS2PD(Mem{Base: x}, Y1)
	VCVTPS2PD(Mem{Base: x, Disp: 16}, Y2)
	VMULPD(inv, Y1, Y1)
	VMULPD(inv, Y2, Y2)
	VROUNDPD(Imm(9), Y1, Y1) // toward -Inf, no precision exception
	VROUNDPD(Imm(9), Y2, Y2)
	VCVTTPD2DQY(Y1, X1)
	VCVTTPD2DQY(Y2, X2)
	VINSERTI128(Imm(1), X2, Y1, Y1)
	VPSUBD(lo, Y1, Y1)
	// inside: -1 < k < nb (the indefinite value minus lo is outside either way)
	VPCMPGTD(Y1, nb, Y3)
	VPCMPGTD(minus1, Y1, Y4)
	VPAND(Y4, Y3, Y3)
	VMOVMSKPS(Y3, EAX)
	CMPL(EAX, Imm(0xff))
	JNE(LabelRef(p + "_out"))
	VMOVDQU(Y1, idx(0))
	VMINPS(Y0, mn, mn)
	VMAXPS(Y0, mx, mx)
	VPSLLD(Imm(1), Y0, Y5)
	VPCMPEQD(zero, Y5, Y5)
	VMOVMSKPS(Y5, EAX)
	POPCNTL(EAX, EAX)
	ADDQ(RAX, zeros)
	VPCMPEQD(Mem{Base: prev}, Y0, Y6)
	VPCMPEQD(Mem{Base: next}, Y0, Y7)
	VPOR(Y7, Y6, Y6)
	VPANDN(Y6, Y5, Y6) // ^zero & run
	VMOVMSKPS(Y6, runs)
	increments()
	TESTL(runs, runs)
	JNZ(LabelRef(p + "_runs"))
	Label(p + "_next")
	ADDQ(Imm(32), x)
	ADDQ(Imm(32), prev)
	ADDQ(Imm(32), next)
	DECQ(n)
	JNZ(LabelRef(p + "_loop"))
	JMP(LabelRef(p + "_done"))
	runLanes(p, reps, runs, idx)
	Label(p + "_done")
	VMOVUPS(mn, Mem{Base: acc, Disp: binAccMin})
	VMOVUPS(mx, Mem{Base: acc, Disp: binAccMax})
	Label(p + "_out")
	MOVQ(zeros, Mem{Base: acc, Disp: binAccZeros})
	binDone(x)
	ret()
}

// broadcastArg broadcasts the int32 argument name to every lane of v.
func broadcastArg(name string, v VecPhysical) {
	Load(Param(name), EAX)
	VMOVD(EAX, X0)
	VPBROADCASTD(X0, v)
}

// binDone returns the number of values binned, from how far x advanced.
func binDone(x GPPhysical) {
	Load(Param("x"), RAX)
	SUBQ(RAX, x)
	SHRQ(Imm(2), x)
	Store(x, ReturnIndex(0))
}

// runLanes is the rare path: for each lane set in runs, reps[idx[lane]]++,
// then back to the loop.
func runLanes(p string, reps GPPhysical, runs GPPhysical, idx func(int) Mem) {
	Label(p + "_runs")
	TZCNTL(runs, EAX)
	MOVL(Mem{Base: idx(0).Base, Disp: idx(0).Disp, Index: RAX, Scale: 4}, EAX)
	INCL(Mem{Base: reps, Index: RAX, Scale: 4})
	BLSRL(runs, runs)
	JNZ(LabelRef(p + "_runs"))
	JMP(LabelRef(p + "_next"))
}
