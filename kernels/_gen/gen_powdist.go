package main

// The "powdist" set (asm_powdist_amd64.s; twenty-first session): float32 Pow
// by a constant exponent computed in float64 lanes, and the squared distance
// of float32 rows accumulated in float64 (torch.cdist's Sub → Pow 2 →
// ReduceSum, ReduceSumSquare, ReduceL2). AVX-512 only: the log needs
// VGETEXPPD/VGETMANTPD and the exp VSCALEFPD; other CPUs run the Go loops.

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// powConsts: √2, 1/2, 1; fdlibm's log coefficients Lg1..Lg7; ln 2 in two
// parts (fdlibm's ln2_hi has 32 significant bits, so k·ln2_hi is exact for
// the |k| < 2¹⁴ of float32 inputs); 1/ln 2; the Taylor coefficients 1/n! of
// e^r for n = 2..13 (|r| ≤ ln2/2: the first term left out is below 5e-18).
var powConsts = func() []float64 {
	v := []float64{
		math.Sqrt2, 0.5, 1,
		6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
		2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
		1.479819860511658591e-01,
		6.93147180369123816490e-01, 1.90821492927058770002e-10,
		1 / math.Ln2,
	}
	f := 1.0
	for n := 2; n <= 13; n++ {
		f *= float64(n)
		v = append(v, 1/f)
	}
	return v
}()

const (
	pcSqrt2 = iota
	pcHalf
	pcOne
	pcLg1     // .. pcLg1+6
	pcLn2Hi   = pcLg1 + 7
	pcLn2Lo   = pcLg1 + 8
	pcInvLn2  = pcLg1 + 9
	pcTaylor2 = pcLg1 + 10 // 1/2! .. 1/13!: pcTaylor2 + n - 2
)

func powdistKernels() {
	powF32Kernel()
	sqDistF32Kernel()
}

// powF32Kernel emits powF32AVX512(dst, src *float32, n int, e float64):
// dst = float32(exp(e·log(float64(src)))) for n floats, n a multiple of 8.
// Only src > 0 and finite gives a meaningful lane (the caller redoes the
// others with math.Pow), and |e| ≤ 64 keeps e·log x within ±6700, where
// the reduction below stays exact and VSCALEFPD over- or underflows to +Inf
// or 0 as float32 needs.
//
// log x: x = m·2^k with m ∈ [1, 2) (VGETMANTPD, VGETEXPPD), m halved and k
// raised where m > √2; then fdlibm's log(1+f) with s = f/(2+f) (2+f = m+1),
// R(z = s²) as one Horner polynomial in z: k·ln2_hi − ((f²/2 − (s·(f²/2+R)
// + k·ln2_lo)) − f), within about 1 ulp of float64. e^y: j = round(y/ln2),
// r = y − j·ln2_hi − j·ln2_lo, the Taylor polynomial of degree 13, scaled by
// 2^j. The float64 result is within a few units of 2⁻⁵² of math.Pow, far
// below float32's half ulp, so the rounded result is math.Pow's but in the
// rare lane where the exact value lies that close to a rounding boundary.
func powF32Kernel() {
	kernel("powF32AVX512", "func(dst *float32, src *float32, n int, e float64)",
		"powF32AVX512 writes float32(exp(e·log(src))) to dst for n floats (n a multiple of 8), in float64 lanes; lanes whose src is not positive and finite are meaningless.")
	dst, src, n := RDI, RSI, RCX
	loadArgs("dst src n", dst, src, n)
	tab := GLOBL("powConsts", RODATA|NOPTR)
	for j, v := range powConsts {
		DATA(8*j, U64(math.Float64bits(v)))
	}
	// Constants in Z6..Z30 (25 registers), e last.
	c := func(i int) VecPhysical { return zmm(6 + i) }
	for i := range powConsts {
		VBROADCASTSD(tab.Offset(8*i), c(i))
	}
	ev := zmm(6 + len(powConsts))
	VBROADCASTSD(paramAddr("e"), ev)
	m, k, f, s, z, r := Z0, Z1, Z2, Z3, Z4, Z5
	Label("pow_loop")
	VCVTPS2PD(Mem{Base: src}, f)
	VGETMANTPD(Imm(0), f, m)
	VGETEXPPD(f, k)
	VCMPPD(Imm(0x1e), c(pcSqrt2), m, K1) // m > √2
	VMULPD(c(pcHalf), m, K1, m)
	VADDPD(c(pcOne), k, K1, k)
	VADDPD(c(pcOne), m, s)
	VSUBPD(c(pcOne), m, f)
	VDIVPD(s, f, s) // s = f/(2+f)
	VMULPD(s, s, z)
	VMOVAPD(c(pcLg1+6), r)
	for i := 5; i >= 0; i-- {
		VFMADD213PD(c(pcLg1+i), z, r) // r = r·z + Lg(i+1)
	}
	VMULPD(z, r, r)               // R
	VMULPD(f, f, z)               // f²
	VMULPD(c(pcHalf), z, z)       // hfsq
	VADDPD(z, r, r)               // hfsq + R
	VMULPD(s, r, r)               // s·(hfsq+R)
	VFMADD231PD(c(pcLn2Lo), k, r) // + k·ln2_lo
	VSUBPD(r, z, z)               // hfsq − (...)
	VSUBPD(f, z, z)               // (...) − f
	VFMSUB231PD(c(pcLn2Hi), k, z) // log x = k·ln2_hi − (...)
	VMULPD(ev, z, z)              // y
	VMULPD(c(pcInvLn2), z, k)
	VRNDSCALEPD(Imm(0), k, k) // j
	VFNMADD231PD(c(pcLn2Hi), k, z)
	VFNMADD231PD(c(pcLn2Lo), k, z) // r
	VMOVAPD(c(pcTaylor2+11), m)
	for i := 10; i >= 0; i-- {
		VFMADD213PD(c(pcTaylor2+i), z, m)
	}
	VFMADD213PD(c(pcOne), z, m)
	VFMADD213PD(c(pcOne), z, m)
	VSCALEFPD(k, m, m)
	VCVTPD2PS(m, Y0)
	VMOVUPS(Y0, Mem{Base: dst})
	ADDQ(Imm(32), src)
	ADDQ(Imm(32), dst)
	SUBQ(Imm(8), n)
	JNZ(LabelRef("pow_loop"))
	ret()
}

// sqDistF32Kernel emits sqDistF32AVX512(dst *float32, a *float32, as int, b
// *float32, bs int, n int, k int, l2 int): for j < n, dst[j] =
// float32(Σ_i (a[j·as+i] − b[j·bs+i])²) over i < k (k ≥ 1), the square root of
// the sum when l2 ≠ 0. Each difference is rounded to float32 (the Sub it
// replaces), squared exactly in float64 and summed in float64 in 16 lanes
// (the order of the sum is not the row's: the float64 sum differs from a
// sequential one in its last bits only). as and bs count floats (0 repeats a
// row).
func sqDistF32Kernel() {
	kernel("sqDistF32AVX512", "func(dst *float32, a *float32, as int, b *float32, bs int, n int, k int, l2 int)",
		"sqDistF32AVX512 writes the float64-accumulated squared distance (its square root when l2 != 0) of n row pairs of k floats to dst.")
	dst, a, as, b, bs, n, k := RDI, RSI, R8, RDX, R9, RCX, R10
	loadArgs("dst a as b bs n k", dst, a, as, b, bs, n, k)
	SHLQ(Imm(2), as)
	SHLQ(Imm(2), bs)
	// K2: the lanes of the last k mod 16 floats.
	MOVQ(k, RAX)
	ANDQ(Imm(15), RAX)
	MOVQ(U64(1), R11)
	MOVQ(RAX, RBX)
	Comment("CL = k mod 16")
	XCHGQ(RCX, RBX)
	SHLQ(CL, R11)
	XCHGQ(RCX, RBX)
	DECQ(R11)
	KMOVW(R11L, K2)
	pa, pb, cnt := R12, R13, R14
	Label("dist_row")
	VXORPD(Z0, Z0, Z0)
	VXORPD(Z1, Z1, Z1)
	MOVQ(a, pa)
	MOVQ(b, pb)
	MOVQ(k, cnt)
	SHRQ(Imm(4), cnt)
	JZ(LabelRef("dist_tail"))
	Label("dist_k")
	VMOVUPS(Mem{Base: pa}, Z2)
	VSUBPS(Mem{Base: pb}, Z2, Z2)
	VCVTPS2PD(Y2, Z3)
	VEXTRACTF32X8(Imm(1), Z2, Y4)
	VCVTPS2PD(Y4, Z4)
	VFMADD231PD(Z3, Z3, Z0)
	VFMADD231PD(Z4, Z4, Z1)
	ADDQ(Imm(64), pa)
	ADDQ(Imm(64), pb)
	DECQ(cnt)
	JNZ(LabelRef("dist_k"))
	Label("dist_tail")
	TESTQ(RAX, RAX)
	JZ(LabelRef("dist_sum"))
	VMOVUPS_Z(Mem{Base: pa}, K2, Z2)
	VMOVUPS_Z(Mem{Base: pb}, K2, Z5)
	VSUBPS(Z5, Z2, Z2)
	VCVTPS2PD(Y2, Z3)
	VEXTRACTF32X8(Imm(1), Z2, Y4)
	VCVTPS2PD(Y4, Z4)
	VFMADD231PD(Z3, Z3, Z0)
	VFMADD231PD(Z4, Z4, Z1)
	Label("dist_sum")
	VADDPD(Z1, Z0, Z0)
	VEXTRACTF64X4(Imm(1), Z0, Y1)
	VADDPD(Y1, Y0, Y0)
	VEXTRACTF128(Imm(1), Y0, X1)
	VADDPD(X1, X0, X0)
	VUNPCKHPD(X0, X0, X1)
	VADDSD(X1, X0, X0)
	CMPQ(paramAddr("l2"), Imm(0))
	JE(LabelRef("dist_store"))
	VSQRTSD(X0, X0, X0)
	Label("dist_store")
	VCVTSD2SS(X0, X0, X0)
	VMOVSS(X0, Mem{Base: dst})
	ADDQ(Imm(4), dst)
	ADDQ(as, a)
	ADDQ(bs, b)
	DECQ(n)
	JNZ(LabelRef("dist_row"))
	ret()
}
