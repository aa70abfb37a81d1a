package kernels

import (
	"fmt"
	"math"
)

// Act is an elementwise activation the float32 convolution kernels apply as
// they store their output (after the bias, the residual and the clamp). The
// low byte is the kind; a parameterised kind carries its float32 parameter in
// the high 32 bits (LeakyReluAct; thirteenth session), so an Act stays one
// comparable value that every epilogue passes through unchanged, and a
// parameter-free Act equals its kind.
type Act uint64

// Activations.
const (
	ActNone       Act = iota
	ActSigmoid        // 1/(1+e^-x)
	ActSiLU           // x·sigmoid(x) (Swish with β = 1)
	ActHardSwish      // x·min(max(x/6+1/2, 0), 1) (ONNX HardSwish)
	ActGELU           // x·(1+erf(x/√2))/2
	ActTanh           // tanh(x)
	ActSoftplus       // log(1+e^x) (acts.go)
	ActMish           // x·tanh(softplus(x))
	ActSoftsign       // x/(1+|x|)
	ActELU            // Elu with α = 1: x > 0 ? x : e^x − 1
	ActSELU           // Selu with ONNX's default α, γ
	ActLogSigmoid     // log(sigmoid(x)) = −softplus(−x)
	// ActLeakyRelu is the kind of LeakyReluAct: x < 0 ? α·x : x with α in the
	// high bits (LeakyRelu, and PRelu with one slope).
	ActLeakyRelu
	// ActEluAlpha and ActCeluAlpha are the kinds of EluAct and CeluAct: Elu
	// and Celu with α in the high bits.
	ActEluAlpha
	ActCeluAlpha
)

// actKindMask selects the kind of an Act.
const actKindMask = 0xff

// LeakyReluAct is LeakyRelu with slope alpha as an Act: x < 0 ? alpha·x : x,
// one float32 product (NaN and −0 pass through), as the LeakyRelu and PRelu
// operators compute it.
func LeakyReluAct(alpha float32) Act {
	return ActLeakyRelu | Act(math.Float32bits(alpha))<<32
}

// EluAct is Elu with α as an Act (the ELU kernel with EluParams(alpha));
// α = 1 is ActELU.
func EluAct(alpha float32) Act {
	if alpha == 1 {
		return ActELU
	}
	return ActEluAlpha | Act(math.Float32bits(alpha))<<32
}

// CeluAct is Celu with α as an Act (ok false where CeluParams refuses α);
// α = 1 is ActELU (the same function).
func CeluAct(alpha float32) (Act, bool) {
	if alpha == 1 {
		return ActELU, true
	}
	if _, ok := CeluParams(alpha); !ok {
		return ActNone, false
	}
	return ActCeluAlpha | Act(math.Float32bits(alpha))<<32, true
}

// eluOf is the ELU parameter set of an ELU-family Act with α (ok false for
// other Acts).
func (a Act) eluOf() (ELU, bool) {
	switch a.Kind() {
	case ActEluAlpha:
		return EluParams(a.Alpha()), true
	case ActCeluAlpha:
		return CeluParams(a.Alpha())
	}
	return ELU{}, false
}

// Kind is a without its parameter.
func (a Act) Kind() Act { return a & actKindMask }

// Alpha is the parameter of a parameterised Act (0 for others).
func (a Act) Alpha() float32 { return math.Float32frombits(uint32(a >> 32)) }

func (a Act) String() string {
	switch a.Kind() {
	case ActLeakyRelu:
		return fmt.Sprintf("leakyrelu(%g)", a.Alpha())
	case ActEluAlpha:
		return fmt.Sprintf("elu(%g)", a.Alpha())
	case ActCeluAlpha:
		return fmt.Sprintf("celu(%g)", a.Alpha())
	}
	switch a {
	case ActNone:
		return "none"
	case ActSigmoid:
		return "sigmoid"
	case ActSiLU:
		return "silu"
	case ActHardSwish:
		return "hardswish"
	case ActGELU:
		return "gelu"
	case ActTanh:
		return "tanh"
	case ActSoftplus:
		return "softplus"
	case ActMish:
		return "mish"
	case ActSoftsign:
		return "softsign"
	case ActELU:
		return "elu"
	case ActSELU:
		return "selu"
	case ActLogSigmoid:
		return "logsigmoid"
	}
	return fmt.Sprintf("Act(%#x)", uint64(a))
}

// ActF32 writes a(src[i]) to dst[i]; dst may be src. Sigmoid and SiLU use a
// vector exp (Cephes expf polynomial: a few ulp of float32), GELU a rational
// erf (Eigen's float32 approximation, 6.5e-8 absolute) and Tanh a rational
// approximation (tanh.go) on the AVX-512 and AVX2 paths; the Go path uses
// float64 math. With a vector path the tail (fewer elements than a vector) goes
// through the same vector code in a padded buffer, so dst[i] depends on src[i]
// alone, never on where a slice starts or ends: a tensor split over threads,
// streamed in pieces or fused into a convolution's row store gets the same bits.
func ActF32(a Act, dst, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("kernels.ActF32: dst %d < src %d", len(dst), len(src)))
	}
	done := actAsm(a, dst, src)
	if rest := len(src) - done; rest > 0 && rest < actPad {
		var buf [actPad]float32
		copy(buf[:], src[done:])
		if actAsm(a, buf[:], buf[:]) == actPad {
			copy(dst[done:len(src)], buf[:rest])
			return
		}
	}
	actGo(a, dst[done:len(src)], src[done:])
}

// actPad is the padded tail of ActF32: a multiple of every vector width (8 and
// 16 float32 lanes).
const actPad = 16

func actGo(a Act, dst, src []float32) {
	switch a {
	case ActNone:
		copy(dst, src)
	case ActSigmoid:
		for i, v := range src {
			dst[i] = float32(sigmoid64(float64(v)))
		}
	case ActSiLU:
		for i, v := range src {
			dst[i] = float32(float64(v) * sigmoid64(float64(v)))
		}
	case ActHardSwish:
		// In float64, rounded once: what the runtime's HardSwish operator computes.
		for i, v := range src {
			x := float64(v)
			dst[i] = float32(x * math.Max(0, math.Min(1, x/6+0.5)))
		}
	case ActGELU:
		for i, v := range src {
			x := float64(v)
			dst[i] = float32(x * (1 + math.Erf(x/math.Sqrt2)) / 2)
		}
	case ActTanh:
		for i, v := range src {
			dst[i] = float32(math.Tanh(float64(v)))
		}
	default:
		if a.Kind() == ActLeakyRelu {
			leakyGo(dst, src, a.Alpha())
			return
		}
		if p, ok := a.eluOf(); ok {
			eluGo(dst, src, p)
			return
		}
		if !actsGo(a, dst, src) {
			panic(fmt.Sprintf("kernels.ActF32: unknown activation %d", a))
		}
	}
}

func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// clampActRow writes act(clamp(src)) to dst (the epilogue of a row computed
// into scratch).
func clampActRow(dst, src []float32, lo, hi float32, a Act) {
	if lo != float32(math.Inf(-1)) || hi != float32(math.Inf(1)) {
		ClampF32(dst, src, lo, hi) // Clip's comparisons: NaN kept as a separate Clip does
		src = dst[:len(src)]
	}
	ActF32(a, dst, src)
}
