package kernels

import "math"

// Float32 Sin, Cos, Exp and Erf as operators (eighteenth session; asm_trig_amd64.s,
// gen_trig.go). The runtime computed them with float64 math per element, 21-23
// ns each: the SIREN layers and NeRF positional encodings of coordinate
// networks and the sinusoidal timestep embeddings of diffusion UNets spent
// most of their float32 time there.
//
// Accuracy of the AVX-512 and AVX2 paths against float64 math rounded to
// float32 (TestTrigAccuracy): Sin and Cos within 1.2e-7 absolute for
// |x| ≤ TrigMax (a few ulp where the result is not near 0; near a zero of
// the function an absolute bound is the meaningful one: the float32 argument
// itself is uncertain by its ulp, 6e-5 at 1000 rad); larger |x| (and ±Inf,
// NaN) are computed with float64 math. Exp within 2
// ulp of the float32 result where that is normal, 2.5e-45 absolute where it
// is subnormal, +Inf where it overflows. Erf (Eigen's rational approximation,
// the one of the fused GELU) within 3e-7 relative (3e-45 absolute where
// the result is subnormal). As in ActF32, a tail shorter than a
// vector goes through the vector code in a padded buffer, so an element's
// result never depends on where a tensor is cut.

// TrigMax bounds the |x| that the vector Sin and Cos reduce themselves.
const TrigMax = 65536

// SinF32 writes sin(src[i]) to dst[i]; dst may be src.
func SinF32(dst, src []float32) { trigF32("SinF32", false, dst, src) }

// CosF32 writes cos(src[i]) to dst[i]; dst may be src.
func CosF32(dst, src []float32) { trigF32("CosF32", true, dst, src) }

// ExpF32 writes e^src[i] to dst[i]; dst may be src.
func ExpF32(dst, src []float32) {
	mapPadded("ExpF32", dst, src, expAsm, func(d, s []float32) {
		for i, v := range s {
			d[i] = float32(math.Exp(float64(v)))
		}
	})
}

// ErfF32 writes erf(src[i]) to dst[i]; dst may be src.
func ErfF32(dst, src []float32) {
	mapPadded("ErfF32", dst, src, erfAsm, func(d, s []float32) {
		for i, v := range s {
			d[i] = float32(math.Erf(float64(v)))
		}
	})
}

func trigF32(name string, cos bool, dst, src []float32) {
	f := math.Sin
	if cos {
		f = math.Cos
	}
	mapPadded(name, dst, src, func(d, s []float32) int { return trigVec(cos, f, d, s) }, func(d, s []float32) {
		for i, v := range s {
			d[i] = float32(f(float64(v)))
		}
	})
}

// trigVec runs the vector Sin or Cos (f) on the longest prefix of s it takes
// and returns its length; the elements beyond TrigMax are redone with f from
// the source, which an in-place call keeps in a buffer, a block at a time.
func trigVec(cos bool, f func(float64) float64, d, s []float32) int {
	redo := func(d, s []float32) {
		for i, v := range s {
			if !(v <= TrigMax && v >= -TrigMax) && v == v {
				d[i] = float32(f(float64(v)))
			}
		}
	}
	if len(s) == 0 || len(d) == 0 || &d[0] != &s[0] {
		n, big := trigAsm(cos, d, s)
		if big {
			redo(d[:n], s[:n])
		}
		return n
	}
	var buf [256]float32 // a multiple of every vector width
	done := 0
	for done < len(s) {
		m := copy(buf[:], s[done:])
		n, big := trigAsm(cos, d[done:], buf[:m])
		if big {
			redo(d[done:done+n], buf[:n])
		}
		done += n
		if n < m {
			break
		}
	}
	return done
}
