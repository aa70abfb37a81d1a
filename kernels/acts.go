package kernels

import (
	"fmt"
	"math"
)

// Activations of the "acts" kernel set (asm_acts_amd64.s, gen_acts.go):
// Softplus, Mish, Softsign, the ELU family and HardSigmoid. The parameter-free
// ones (and Elu with α = 1, Selu with its default constants) are Act values,
// so a convolution can apply them as it stores its rows; ELUF32 and
// HardSigmoidF32 take any parameters. On the AVX-512 and AVX2 paths they use
// the Cephes exp of Sigmoid/SiLU (and the Cephes logf polynomial for
// Softplus); the Go path uses float64 math rounded once. As with ActF32, a
// tail shorter than a vector goes through the vector code in a padded buffer,
// so an element's result never depends on where a slice is cut.

// ELU holds the parameters of y = Pos·x for x > 0, else Neg·(e^(Scale·x) − 1):
// Elu is {1, α, 1}, Selu {γ, γ·α, 1}, Celu {1, α, 1/α}. Scale must be > 0.
type ELU struct{ Pos, Neg, Scale float32 }

// EluParams, SeluParams and CeluParams give the ONNX operators' parameters.
func EluParams(alpha float32) ELU { return ELU{1, alpha, 1} }

// SeluParams: Selu(α, γ).
func SeluParams(alpha, gamma float32) ELU { return ELU{gamma, gamma * alpha, 1} }

// CeluParams: Celu(α), defined here for α > 0 only (ok false otherwise: the
// caller keeps the operator's general formula).
func CeluParams(alpha float32) (ELU, bool) {
	if !(alpha > 0) {
		return ELU{}, false
	}
	return ELU{1, alpha, 1 / alpha}, true
}

// Default Selu constants of ONNX (float32).
const (
	SeluAlpha = 1.67326319217681884765625
	SeluGamma = 1.05070102214813232421875
)

var (
	eluOne      = EluParams(1)
	seluDefault = SeluParams(SeluAlpha, SeluGamma)
)

// ELUF32 writes the ELU-family function p of src[i] to dst[i]; dst may be src.
func ELUF32(dst, src []float32, p ELU) {
	if !(p.Scale > 0) {
		panic(fmt.Sprintf("kernels.ELUF32: scale %v is not positive", p.Scale))
	}
	mapPadded("ELUF32", dst, src, func(d, s []float32) int { return eluAsm(d, s, p) }, func(d, s []float32) { eluGo(d, s, p) })
}

// HardSigmoidF32 writes min(max(α·src[i] + β, 0), 1) to dst[i] (NaN kept);
// dst may be src.
func HardSigmoidF32(dst, src []float32, alpha, beta float32) {
	mapPadded("HardSigmoidF32", dst, src, func(d, s []float32) int { return hardSigmoidAsm(d, s, alpha, beta) },
		func(d, s []float32) {
			a, b := float64(alpha), float64(beta)
			for i, v := range s {
				d[i] = float32(max(0, min(1, a*float64(v)+b)))
			}
		})
}

// ClampF32 writes src[i] clamped to [lo, hi] to dst[i] with Clip's
// comparisons (x < lo gives lo, then > hi gives hi: NaN and −0 pass through,
// lo > hi gives hi); dst may be src.
func ClampF32(dst, src []float32, lo, hi float32) {
	mapPadded("ClampF32", dst, src, func(d, s []float32) int { return clampAsm(d, s, lo, hi) },
		func(d, s []float32) {
			for i, v := range s {
				if v < lo {
					v = lo
				}
				if v > hi {
					v = hi
				}
				d[i] = v
			}
		})
}

// mapPadded runs vec on the longest prefix it takes, the tail through vec in
// a vector-wide buffer, and goFn on what vec does not do at all (the Go path).
func mapPadded(name string, dst, src []float32, vec func(d, s []float32) int, goFn func(d, s []float32)) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("kernels.%s: dst %d < src %d", name, len(dst), len(src)))
	}
	done := vec(dst, src)
	if rest := len(src) - done; rest > 0 && rest < actPad {
		var buf [actPad]float32
		copy(buf[:], src[done:])
		if vec(buf[:], buf[:]) == actPad {
			copy(dst[done:len(src)], buf[:rest])
			return
		}
	}
	goFn(dst[done:len(src)], src[done:])
}

func eluGo(dst, src []float32, p ELU) {
	pos, neg, sc := float64(p.Pos), float64(p.Neg), float64(p.Scale)
	for i, v := range src {
		x := float64(v)
		if x > 0 {
			dst[i] = float32(pos * x)
		} else {
			dst[i] = float32(neg * math.Expm1(sc*x))
		}
	}
}

// Softplus64 is log(1 + e^x) without overflow or a rounded 1 + e^x.
func Softplus64(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// actsGo is actGo for the activations of this file; ok is false for others.
func actsGo(a Act, dst, src []float32) bool {
	switch a {
	case ActSoftplus:
		for i, v := range src {
			dst[i] = float32(Softplus64(float64(v)))
		}
	case ActMish:
		for i, v := range src {
			x := float64(v)
			dst[i] = float32(x * math.Tanh(Softplus64(x)))
		}
	case ActSoftsign:
		for i, v := range src {
			x := float64(v)
			dst[i] = float32(x / (1 + math.Abs(x)))
		}
	case ActELU:
		eluGo(dst, src, eluOne)
	case ActSELU:
		eluGo(dst, src, seluDefault)
	case ActLogSigmoid:
		for i, v := range src {
			dst[i] = float32(-Softplus64(-float64(v)))
		}
	default:
		return false
	}
	return true
}
