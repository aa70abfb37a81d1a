package main

// GELU, y = x·(1 + erf(x/√2))/2, for the Erf-spelled GELU of exported
// transformers and ConvNeXt. erf is Eigen's rational approximation for
// float32 (odd degree-13 numerator over even degree-8 denominator of x,
// x clamped to [-4, 4]), max abs error 6.5e-8 in exact arithmetic.

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/reg"
)

var geluConsts = f32Table{sym: "geluConsts", vals: f32s(
	4, -4, 1/math.Sqrt2, 0.5, 1,
	// numerator alpha_13 ... alpha_1
	-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
	-7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02,
	// denominator beta_8 ... beta_0
	-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03, -1.42647390514189e-02,
)}

func f32s(v ...float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// geluF32 emits geluF32AVX512 (wide) or geluF32AVX2: dst = gelu(src) for n
// floats, n a multiple of the vector width.
func geluF32(wide bool) {
	name := "geluF32AVX2"
	if wide {
		name = "geluF32AVX512"
	}
	vec, _ := vecRegs(wide)
	t, t2, p, q, c := vec(1), vec(2), vec(3), vec(4), vec(5)
	// bc broadcasts constant i into c, or into a preloaded register on AVX-512.
	pre := map[int]VecPhysical{}
	bc := func(i int) VecPhysical {
		if r, ok := pre[i]; ok {
			return r
		}
		VBROADCASTSS(geluConsts.at(i), c)
		return c
	}
	f32Map(name, wide, name+" applies GELU, x·(1+erf(x/√2))/2, to n floats (n a multiple of the vector width).", func() {
		if wide {
			for i := range geluConsts.vals {
				pre[i] = vec(8 + i)
				VBROADCASTSS(geluConsts.at(i), pre[i])
			}
		}
	}, func(x VecPhysical) {
		VMULPS(bc(2), x, t) // t = x/√2
		VMINPS(bc(0), t, t)
		VMAXPS(bc(1), t, t)
		VMULPS(t, t, t2)
		VMOVAPS(bc(5), p)
		for i := 6; i <= 11; i++ {
			VFMADD213PS(bc(i), t2, p) // p = p·t² + alpha
		}
		VMULPS(t, p, p)
		VMOVAPS(bc(12), q)
		for i := 13; i <= 16; i++ {
			VFMADD213PS(bc(i), t2, q)
		}
		VDIVPS(q, p, p)     // erf(t)
		VADDPS(bc(4), p, p) // 1 + erf
		VMULPS(bc(3), x, x) // x/2
		VMULPS(p, x, x)
	})
}
