package main

// The "trig" set (asm_trig_amd64.s; eighteenth session): float32 Sin, Cos and
// Exp as vector kernels. The runtime ran them as float64 math per element
// (math.Sin 21-23 ns an element: the SIREN layers and positional encodings of
// coordinate networks, the sinusoidal timestep embeddings of diffusion
// UNets). A set of its own so that adding these regenerates no other.
//
// Sin and Cos reduce x by the nearest multiple j of π/2 with π/2 split in
// three float32 parts (Cody-Waite) applied by FMA: each step rounds once, a
// result below 1, so the reduced r carries about 3·2⁻²⁵ of absolute error
// whatever j is, as long as j is exact and x·2/π picks a j within a few
// thousandths of the nearest — true for |x| ≤ 65536 (trigMax), and the kernels
// report the largest |x| they saw so that the Go side recomputes larger ones
// with float64 math. On r ∈ [−π/4, π/4] they evaluate Cephes' sinf and cosf
// polynomials and pick the one and the sign of quadrant j (j+1 for Cos).
// NaN and ±Inf give NaN (r is NaN); a NaN does not raise the reported maximum.

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// trigConsts: 2/π; π/2 in three parts (C1 = float32(π/2), C2 = float32(π/2 −
// C1), C3 = float32(π/2 − C1 − C2)); Cephes sinf (s1..s3) and cosf (c1..c3)
// coefficients; −1/2 and 1; the integer 1; the sign and magnitude masks.
var trigConsts = f32Table{sym: "trigConsts", vals: []float32{
	float32(2 / math.Pi),
	1.5707963705062866, -4.371139000186243e-08, -1.7151245100059808e-15,
	-1.6666654611e-1, 8.3321608736e-3, -1.9515295891e-4,
	4.166664568298827e-2, -1.388731625493765e-3, 2.443315711809948e-5,
	-0.5, 1,
	math.Float32frombits(1),
	math.Float32frombits(0x80000000),
	math.Float32frombits(0x7fffffff),
}}

var trigNames = []string{"twoOverPi", "c1", "c2", "c3", "s1", "s2", "s3", "k1", "k2", "k3", "mhalf", "one", "int1", "sign", "abs"}

// trigRegs is expRegs for trigConsts: on AVX-512 the constants live in zmm16
// on; on AVX2 each use broadcasts into scratch.
func trigRegs(wide bool, scratch VecPhysical) (preload func(), c func(name string) VecPhysical) {
	idx := func(nm string) int {
		for i, s := range trigNames {
			if s == nm {
				return i
			}
		}
		panic(nm)
	}
	preload = func() {
		if wide {
			for i := range trigNames {
				VBROADCASTSS(trigConsts.at(i), zmm(16+i))
			}
		}
	}
	c = func(nm string) VecPhysical {
		if wide {
			return zmm(16 + idx(nm))
		}
		VBROADCASTSS(trigConsts.at(idx(nm)), scratch)
		return scratch
	}
	return preload, c
}

func trigKernels() {
	for _, wide := range []bool{true, false} {
		sinCosF32(wide, false)
		sinCosF32(wide, true)
		expF32(wide)
		erfF32(wide)
	}
}

// sinCosF32 emits sinF32AVX512/AVX2 or cosF32AVX512/AVX2(dst, src *float32, n
// int, maxAbs *float32): dst = sin(src) or cos(src) for n floats (a multiple
// of the vector width), and the lane-wise maximum of |src| (NaN lanes left
// out) stored to maxAbs (16 or 8 floats).
func sinCosF32(wide, cos bool) {
	name := "sin" + isaSuffix(wide)
	what := "sin"
	if cos {
		name, what = "cos"+isaSuffix(wide), "cos"
	}
	vec, width := vecRegs(wide)
	kernel(name, "func(dst *float32, src *float32, n int, maxAbs *float32)",
		name+" writes "+what+"(src) to dst for n floats (n a multiple of the vector width) and the lane-wise maximum of |src| (NaN left out) to maxAbs.")
	dst, src, n, mp := RDI, RSI, RCX, RDX
	loadArgs("dst src n maxAbs", dst, src, n, mp)
	x, k, r, z, ps, pc, q, acc, sc := vec(0), vec(1), vec(2), vec(3), vec(4), vec(5), vec(6), vec(7), vec(8)
	m := vec(9) // AVX2 blend mask
	preload, c := trigRegs(wide, sc)
	preload()
	VXORPS(acc, acc, acc)
	Label(name + "_loop")
	VMOVUPS(Mem{Base: src}, x)
	VANDPS(c("abs"), x, k)
	VMAXPS(acc, k, acc) // a NaN |x| keeps acc
	VMULPS(c("twoOverPi"), x, k)
	if wide {
		VRNDSCALEPS(Imm(0), k, k)
	} else {
		VROUNDPS(Imm(0), k, k)
	}
	VMOVAPS(x, r)
	VFNMADD231PS(c("c1"), k, r) // r −= k·C1
	VFNMADD231PS(c("c2"), k, r)
	VFNMADD231PS(c("c3"), k, r)
	VCVTPS2DQ(k, q)
	if cos {
		VPADDD(c("int1"), q, q) // cos(x) = sin(x + π/2)
	}
	VMULPS(r, r, z)
	// ps = r + r·z·(s1 + z·(s2 + z·s3))
	VMOVAPS(c("s3"), ps)
	VFMADD213PS(c("s2"), z, ps)
	VFMADD213PS(c("s1"), z, ps)
	VMULPS(z, ps, ps)
	VFMADD213PS(r, r, ps)
	// pc = 1 + z·(−1/2 + z·(k1 + z·(k2 + z·k3)))
	VMOVAPS(c("k3"), pc)
	VFMADD213PS(c("k2"), z, pc)
	VFMADD213PS(c("k1"), z, pc)
	VFMADD213PS(c("mhalf"), z, pc)
	VFMADD213PS(c("one"), z, pc)
	// odd quadrants take the cosine polynomial, quadrants 2 and 3 negate
	if wide {
		VPTESTMD(c("int1"), q, K1)
		VBLENDMPS(pc, ps, K1, ps)
		VPSLLD(Imm(30), q, q)
		VPANDD(c("sign"), q, q)
		VPXORD(q, ps, ps)
	} else {
		VPSLLD(Imm(31), q, m)
		VBLENDVPS(m, pc, ps, ps)
		VPSLLD(Imm(30), q, q)
		VPAND(c("sign"), q, q)
		VPXOR(q, ps, ps)
	}
	VMOVUPS(ps, Mem{Base: dst})
	ADDQ(Imm(uint64(4*width)), src)
	ADDQ(Imm(uint64(4*width)), dst)
	SUBQ(Imm(uint64(width)), n)
	JNZ(LabelRef(name + "_loop"))
	VMOVUPS(acc, Mem{Base: mp})
	ret()
}

// expTrig: Exp's constants — the clamps of its argument (e^−104 rounds to
// 0 in float32, e^88.8 overflows), then expConsts' log2e, ln2 parts,
// polynomial and 1, then the integer 127 (the exponent bias).
var expTrig = f32Table{sym: "trigExpConsts", vals: append(append([]float32{-104, 88.8}, expConsts.vals[2:12]...),
	math.Float32frombits(127))}

var expTrigNames = []string{"lo", "hi", "log2e", "ln2hi", "ln2lo", "p0", "p1", "p2", "p3", "p4", "p5", "one", "bias"}

// expF32 emits expF32AVX512/AVX2: e^x with the Cephes expf polynomial of
// Sigmoid and SiLU (expOf), made an operator's: the argument is clamped to
// [−104, 88.8] only, and 2^k (k = round(x·log2 e) ∈ [−150, 128]) is applied
// so that the one rounding of the last product gives +Inf on overflow and
// subnormal results (or 0) below e^−87.3 — VSCALEFPS on AVX-512, two
// exponent-field steps 2^(k>>1)·2^(k−k>>1) on AVX2. NaN stays NaN.
func expF32(wide bool) {
	name := "exp" + isaSuffix(wide)
	vec, _ := vecRegs(wide)
	u, k, r, p, sc, k2 := vec(1), vec(2), vec(3), vec(4), vec(5), vec(6)
	cs := cmpSel{wide, vec(7)}
	idx := func(nm string) int {
		for i, s := range expTrigNames {
			if s == nm {
				return i
			}
		}
		panic(nm)
	}
	c := func(nm string) VecPhysical {
		if wide {
			return zmm(16 + idx(nm))
		}
		VBROADCASTSS(expTrig.at(idx(nm)), sc)
		return sc
	}
	f32Map(name, wide, name+" applies e^x to n floats (n a multiple of the vector width): +Inf on overflow, subnormal or 0 results below e^-87.3, NaN kept.", func() {
		if wide {
			for i := range expTrigNames {
				VBROADCASTSS(expTrig.at(i), zmm(16+i))
			}
		}
	}, func(x VecPhysical) {
		VMAXPS(c("lo"), x, u)
		VMINPS(c("hi"), u, u)
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
			VMOVAPS(c("p0"), p)
		} else {
			VBROADCASTSS(expTrig.at(idx("p0")), p)
		}
		for _, nm := range []string{"p1", "p2", "p3", "p4", "p5"} {
			VFMADD213PS(c(nm), r, p)
		}
		VMULPS(r, r, u)
		VFMADD213PS(r, u, p) // p·r² + r
		VADDPS(c("one"), p, p)
		if wide {
			VSCALEFPS(k, p, p)
		} else {
			VCVTPS2DQ(k, k)
			VPSRAD(Imm(1), k, k2) // k>>1
			VPSUBD(k2, k, k)      // k − k>>1
			VPSLLD(Imm(23), k2, k2)
			VPADDD(k2, p, p) // ·2^(k>>1), exact: p stays normal
			VPADDD(c("bias"), k, k)
			VPSLLD(Imm(23), k, k) // 2^(k − k>>1) as a float
			VMULPS(k, p, p)
		}
		cs.cmp(cmpUNORDQ, x, x)
		cs.sel(x, p, x) // NaN: itself
	})
}

// cmpUNORDQ is the unordered compare predicate: true where either is NaN.
const cmpUNORDQ = 0x03

// erfConsts: the clamp ±4 and the numerator and denominator of Eigen's
// float32 erf (geluConsts without GELU's own constants).
var erfConsts = f32Table{sym: "trigErfConsts", vals: append([]float32{4, -4}, geluConsts.vals[5:]...)}

// erfF32 emits erfF32AVX512/AVX2: Eigen's rational erf of GELU (gen_gelu.go)
// on x clamped to [−4, 4] (erf(4) is 1 in float32), NaN kept.
func erfF32(wide bool) {
	name := "erf" + isaSuffix(wide)
	vec, _ := vecRegs(wide)
	t, t2, p, q, sc := vec(1), vec(2), vec(3), vec(4), vec(5)
	cs := cmpSel{wide, vec(6)}
	c := func(i int) VecPhysical {
		if wide {
			return zmm(16 + i)
		}
		VBROADCASTSS(erfConsts.at(i), sc)
		return sc
	}
	f32Map(name, wide, name+" applies erf to n floats (n a multiple of the vector width), NaN kept.", func() {
		if wide {
			for i := range erfConsts.vals {
				VBROADCASTSS(erfConsts.at(i), zmm(16+i))
			}
		}
	}, func(x VecPhysical) {
		VMINPS(c(0), x, t)
		VMAXPS(c(1), t, t)
		VMULPS(t, t, t2)
		if wide {
			VMOVAPS(c(2), p)
		} else {
			VBROADCASTSS(erfConsts.at(2), p)
		}
		for i := 3; i <= 8; i++ {
			VFMADD213PS(c(i), t2, p) // p = p·t² + alpha
		}
		VMULPS(t, p, p)
		if wide {
			VMOVAPS(c(9), q)
		} else {
			VBROADCASTSS(erfConsts.at(9), q)
		}
		for i := 10; i <= 13; i++ {
			VFMADD213PS(c(i), t2, q)
		}
		VDIVPS(q, p, p)
		cs.cmp(cmpUNORDQ, x, x)
		cs.sel(x, p, x) // NaN: itself
	})
}
