package main

// The "acts" set (asm_acts_amd64.s): float32 activations that ran as per-element
// float64 math in the runtime — Softplus, Mish (x·tanh(softplus(x)), as
// torch.onnx writes it below opset 18: Softplus, Tanh, Mul), Softsign, the ELU
// family (Elu, Celu, Selu: one kernel with three parameters) and HardSigmoid —
// on AVX-512 and AVX2. They reuse the Cephes exp of gen_depthwise.go (expOf);
// Softplus adds the Cephes logf polynomial as a log1p of exp(−|x|) ∈ (0, 1].
// The set also has Clip's clamp (clampF32), for standalone Clips and the
// convolutions' clamp epilogues.
// A set of its own so that adding these does not regenerate the main set the
// convolution kernels live in.

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// actsConsts: √2−1 (where log1p switches to (e−1)/2 and one more ln2), 1/2,
// the Cephes logf polynomial (degree 8, highest first), Mish's exp bound (20:
// beyond it tanh(softplus(x)) is 1 in float32), 2, and Mish's lower bound of
// the factor x (−88: below the exp's clamp x·e^x would be x·e^−87.3).
var actsConsts = f32Table{sym: "actsConsts", vals: []float32{
	0.41421356237, 0.5,
	7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
	-1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
	20, 2, -88,
}}

const (
	acSqrt2m1 = 0
	acHalf    = 1
	acLog0    = 2 // ... acLog0+8
	acMishHi  = 11
	acTwo     = 12
	acMishLo  = 13
)

func actsKernels() {
	// The main set defines actExpConsts; this file is linked with it, so its
	// copy of the same exp constants needs another symbol.
	expConsts.sym = "actsExpConsts"
	for _, wide := range []bool{true, false} {
		softplusF32(wide)
		mishF32(wide)
		softsignF32(wide)
		eluF32(wide)
		hardSigmoidF32(wide)
		clampF32(wide)
		leakyF32(wide)
		preluF32(wide)
	}
}

func isaSuffix(wide bool) string {
	if wide {
		return "F32AVX512"
	}
	return "F32AVX2"
}

// cmpSel is the compare-and-select of one ISA: cmp sets the mask to a pred b
// (an AVX-512 K1, or an AVX2 vector mask in m), sel writes mask ? t : f to dst,
// and zeroOr writes mask ? v : 0 to dst.
type cmpSel struct {
	wide bool
	m    VecPhysical
}

func (c cmpSel) cmp(pred uint64, a, b VecPhysical) {
	if c.wide {
		VCMPPS(Imm(pred), b, a, K1)
	} else {
		VCMPPS(Imm(pred), b, a, c.m)
	}
}

func (c cmpSel) sel(t, f, dst VecPhysical) {
	if c.wide {
		VBLENDMPS(t, f, K1, dst)
	} else {
		VBLENDVPS(c.m, t, f, dst)
	}
}

func (c cmpSel) zeroOr(v, dst VecPhysical) {
	if c.wide {
		VMOVAPS_Z(v, K1, dst)
	} else {
		VANDPS(c.m, v, dst)
	}
}

// Compare predicates (quiet).
const (
	cmpGTOQ  = 0x1e // a > b, false on NaN
	cmpLTOQ  = 0x11 // a < b, false on NaN
	cmpNLEUQ = 0x06 // !(a <= b): a > b or NaN
)

// bcast returns constant i of actsConsts in scratch.
func bcast(i int, scratch VecPhysical) VecPhysical {
	VBROADCASTSS(actsConsts.at(i), scratch)
	return scratch
}

// softplusF32 emits softplusF32AVX512/AVX2: log(1 + e^x) as max(x, 0) +
// log1p(e) with e = exp(−|x|) ∈ (0, 1]; log1p(e) is Cephes logf on f = e (k =
// 0) or, above √2−1, f = (e−1)/2 (k = 1): f − f²/2 + f³·P(f) + k·ln2. No 1+e
// is ever rounded, so a tiny e keeps its relative precision (softplus of −30
// is 9.4e-14, not 0). NaN stays NaN (the max keeps it).
func softplusF32(wide bool) {
	name := "softplus" + isaSuffix(wide)
	vec, _ := vecRegs(wide)
	m, t, k, r, p, sc, f, z2, y, tmp := vec(1), vec(2), vec(3), vec(4), vec(5), vec(6), vec(8), vec(9), vec(10), vec(11)
	cs := cmpSel{wide, vec(7)}
	zero := vec(12)
	preload, c := expRegs(wide, sc)
	f32Map(name, wide, name+" applies Softplus, log(1+exp(x)), to n floats (n a multiple of the vector width).", func() {
		preload()
		VXORPS(zero, zero, zero)
	}, func(x VecPhysical) {
		VMAXPS(x, zero, m) // max(x, 0); NaN: x
		VSUBPS(x, zero, t)
		VMINPS(x, t, t) // −|x|
		expOf(wide, c, t, k, r, p, t)
		e := p
		cs.cmp(cmpGTOQ, e, bcast(acSqrt2m1, sc))
		VSUBPS(c("one"), e, f)
		VMULPS(bcast(acHalf, sc), f, f) // (e−1)/2
		cs.sel(f, e, f)
		VMULPS(f, f, z2)
		VBROADCASTSS(actsConsts.at(acLog0), y)
		for i := 1; i <= 8; i++ {
			VFMADD213PS(bcast(acLog0+i, sc), f, y) // y = y·f + c_i
		}
		VMULPS(f, y, y)
		VMULPS(z2, y, y) // f³·P(f)
		cs.zeroOr(c("ln2lo"), tmp)
		VADDPS(tmp, y, y)
		VFNMADD231PS(bcast(acHalf, sc), z2, y) // y −= f²/2
		VADDPS(f, y, y)
		cs.zeroOr(c("ln2hi"), tmp)
		VADDPS(tmp, y, y)
		VADDPS(y, m, x)
	})
}

// mishF32 emits mishF32AVX512/AVX2: x·tanh(softplus(x)) with n = e^x as
// x·t/(t+2), t = n(n+2) (tanh(log(1+n)) = ((1+n)²−1)/((1+n)²+1)); the exp's
// argument is bounded at 20, above which the quotient is 1 in float32. For
// x → −∞ t/(t+2) ≈ n, without cancellation; the factor x is bounded at −88,
// where the result is −1e-36 (e^x is clamped at e^−87.3), so −∞ and −3e38
// give about −0, not −4. NaN stays NaN (the bound keeps it, the product too).
func mishF32(wide bool) {
	name := "mish" + isaSuffix(wide)
	vec, _ := vecRegs(wide)
	u, k, r, p, sc, t := vec(1), vec(2), vec(3), vec(4), vec(5), vec(6)
	preload, c := expRegs(wide, sc)
	f32Map(name, wide, name+" applies Mish, x·tanh(softplus(x)), to n floats (n a multiple of the vector width).", preload, func(x VecPhysical) {
		VMINPS(bcast(acMishHi, sc), x, u)
		expOf(wide, c, u, k, r, p, u)
		VADDPS(bcast(acTwo, sc), p, t)
		VMULPS(p, t, t)                // t = n(n+2)
		VADDPS(bcast(acTwo, sc), t, u) // t+2
		VDIVPS(u, t, t)
		VMAXPS(x, bcast(acMishLo, sc), x) // NaN: x
		VMULPS(t, x, x)
	})
}

// softsignF32 emits softsignF32AVX512/AVX2: x/(1+|x|).
func softsignF32(wide bool) {
	name := "softsign" + isaSuffix(wide)
	vec, _ := vecRegs(wide)
	a, zero, one := vec(1), vec(2), vec(3)
	f32Map(name, wide, name+" applies Softsign, x/(1+|x|), to n floats (n a multiple of the vector width).", func() {
		VXORPS(zero, zero, zero)
		VBROADCASTSS(expConst("one"), one)
	}, func(x VecPhysical) {
		VSUBPS(x, zero, a)
		VMAXPS(x, a, a) // |x|
		VADDPS(one, a, a)
		VDIVPS(a, x, x)
	})
}

// f32MapP is f32Map with a fourth argument, p *float32 (parameters the setup
// broadcasts), in register pp during setup.
func f32MapP(name string, wide bool, doc string, setup func(pp GPPhysical), body func(x VecPhysical)) {
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, src *float32, n int, p *float32)", doc)
	dst, src, n, pp := RDI, RSI, RCX, RDX
	loadArgs("dst src n p", dst, src, n, pp)
	setup(pp)
	x := vec(0)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: src}, x)
	body(x)
	VMOVUPS(x, Mem{Base: dst})
	ADDQ(Imm(uint64(4*width)), src)
	ADDQ(Imm(uint64(4*width)), dst)
	SUBQ(Imm(uint64(width)), n)
	JNZ(LabelRef(name + "_loop"))
	ret()
}

// eluF32 emits eluF32AVX512/AVX2 with p = {pos, neg, scale}: x > 0 ? pos·x :
// neg·expm1(scale·x) (Elu {1, α, 1}, Selu {γ, γα, 1}, Celu {1, α, 1/α}; scale
// > 0). expm1(u) for u ≤ 0 (u is bounded at 0: the other side is not used) is
// 2^k·q + (2^k − 1) with q = e^r − 1 the exp polynomial before its 1 is
// added, so a small |u| keeps its relative precision (exp(u) − 1 would lose
// it). NaN: pos·NaN (the compare is "not ≤ 0").
func eluF32(wide bool) {
	name := "elu" + isaSuffix(wide)
	vec, _ := vecRegs(wide)
	u, k, r, q, sc, pw, zero := vec(1), vec(2), vec(3), vec(4), vec(5), vec(6), vec(8)
	cs := cmpSel{wide, vec(7)}
	pos, neg, scale := vec(13), vec(14), vec(15)
	if wide {
		pos, neg, scale = vec(28), vec(29), vec(30)
	}
	preload, c := expRegs(wide, sc)
	f32MapP(name, wide, name+" applies p[0]·x for x > 0, else p[1]·expm1(p[2]·x), to n floats (n a multiple of the vector width).", func(pp GPPhysical) {
		preload()
		VBROADCASTSS(Mem{Base: pp}, pos)
		VBROADCASTSS(Mem{Base: pp, Disp: 4}, neg)
		VBROADCASTSS(Mem{Base: pp, Disp: 8}, scale)
		VXORPS(zero, zero, zero)
	}, func(x VecPhysical) {
		VMULPS(scale, x, u)
		VMINPS(zero, u, u)
		// expOf without its final 1 + and scaling: q = r + r²·P(r).
		VMAXPS(c("expLo"), u, u)
		VMULPS(c("log2e"), u, k)
		if wide {
			VRNDSCALEPS(Imm(0), k, k)
		} else {
			VROUNDPS(Imm(0), k, k)
		}
		VMOVAPS(u, r)
		VFNMADD231PS(c("ln2hi"), k, r)
		VFNMADD231PS(c("ln2lo"), k, r)
		if wide {
			VMOVAPS(c("p0"), q)
		} else {
			VBROADCASTSS(expConst("p0"), q)
		}
		for i := 1; i <= 5; i++ {
			VFMADD213PS(c([]string{"", "p1", "p2", "p3", "p4", "p5"}[i]), r, q)
		}
		VMULPS(r, r, u)
		VFMADD213PS(r, u, q) // q = q·r² + r
		// pw = 2^k
		if wide {
			VSCALEFPS(k, c("one"), pw)
		} else {
			VCVTPS2DQ(k, k)
			VPSLLD(Imm(23), k, k)
			VPADDD(c("one"), k, pw)
		}
		VMOVAPS(pw, u)
		VSUBPS(c("one"), u, u) // 2^k − 1
		VFMADD231PS(pw, q, u)  // + 2^k·q
		VMULPS(neg, u, u)
		cs.cmp(cmpNLEUQ, x, zero)
		VMULPS(pos, x, x)
		cs.sel(x, u, x)
	})
}

// hardSigmoidF32 emits hardSigmoidF32AVX512/AVX2 with p = {α, β}:
// min(max(α·x + β, 0), 1), NaN kept (the value is the operand returned on
// NaN).
func hardSigmoidF32(wide bool) {
	name := "hardSigmoid" + isaSuffix(wide)
	vec, _ := vecRegs(wide)
	a, b, zero, one := vec(1), vec(2), vec(3), vec(4)
	f32MapP(name, wide, name+" applies min(max(p[0]·x + p[1], 0), 1) to n floats (n a multiple of the vector width).", func(pp GPPhysical) {
		VBROADCASTSS(Mem{Base: pp}, a)
		VBROADCASTSS(Mem{Base: pp, Disp: 4}, b)
		VXORPS(zero, zero, zero)
		VBROADCASTSS(expConst("one"), one)
	}, func(x VecPhysical) {
		VFMADD213PS(b, a, x) // x = a·x + b
		VMAXPS(x, zero, x)
		VMINPS(x, one, x)
	})
}

// clampF32 emits clampF32AVX512/AVX2 with p = {lo, hi}: x < lo ? lo : x, then
// > hi ? hi : itself — Clip's comparisons, so NaN and −0 pass through and lo >
// hi gives hi everywhere, as in the runtime's generic Clip.
func clampF32(wide bool) {
	name := "clamp" + isaSuffix(wide)
	vec, _ := vecRegs(wide)
	lo, hi := vec(1), vec(2)
	cs := cmpSel{wide, vec(3)}
	f32MapP(name, wide, name+" clamps n floats to [p[0], p[1]] with Clip's comparisons (n a multiple of the vector width).", func(pp GPPhysical) {
		VBROADCASTSS(Mem{Base: pp}, lo)
		VBROADCASTSS(Mem{Base: pp, Disp: 4}, hi)
	}, func(x VecPhysical) {
		cs.cmp(cmpLTOQ, x, lo)
		cs.sel(lo, x, x)
		cs.cmp(cmpGTOQ, x, hi)
		cs.sel(hi, x, x)
	})
}

// leakyF32 emits leakyF32AVX512/AVX2 with p = {α}: x < 0 ? α·x : x
// (LeakyRelu, and PRelu with one slope; thirteenth session). One float32
// product, as the runtime's operator computes it, so a fused epilogue gives
// the same bits; NaN and −0 pass through (the compare is false on them).
func leakyF32(wide bool) {
	name := "leaky" + isaSuffix(wide)
	vec, _ := vecRegs(wide)
	a, zero, t := vec(1), vec(2), vec(3)
	cs := cmpSel{wide, vec(4)}
	f32MapP(name, wide, name+" applies x < 0 ? p[0]·x : x to n floats (n a multiple of the vector width).", func(pp GPPhysical) {
		VBROADCASTSS(Mem{Base: pp}, a)
		VXORPS(zero, zero, zero)
	}, func(x VecPhysical) {
		VMULPS(a, x, t)
		cs.cmp(cmpLTOQ, x, zero)
		cs.sel(t, x, x)
	})
}

// preluF32 emits preluF32AVX512/AVX2: x < 0 ? s·x : x with a slope s per
// element (slope advances with src): PRelu with per-channel slopes on a
// channels-last row, one pixel's channels at a time (thirteenth session).
func preluF32(wide bool) {
	name := "prelu" + isaSuffix(wide)
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, src *float32, n int, slope *float32)",
		name+" applies x < 0 ? slope[i]·x : x to n floats (n a multiple of the vector width).")
	dst, src, n, sp := RDI, RSI, RCX, RDX
	loadArgs("dst src n slope", dst, src, n, sp)
	x, zero, t := vec(0), vec(2), vec(3)
	cs := cmpSel{wide, vec(4)}
	VXORPS(zero, zero, zero)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: src}, x)
	VMULPS(Mem{Base: sp}, x, t)
	cs.cmp(cmpLTOQ, x, zero)
	cs.sel(t, x, x)
	VMOVUPS(x, Mem{Base: dst})
	ADDQ(Imm(uint64(4*width)), src)
	ADDQ(Imm(uint64(4*width)), dst)
	ADDQ(Imm(uint64(4*width)), sp)
	SUBQ(Imm(uint64(width)), n)
	JNZ(LabelRef(name + "_loop"))
	ret()
}
