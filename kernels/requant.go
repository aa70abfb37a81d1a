package kernels

import (
	"fmt"
	"math"
)

// mathFloat32bits is math.Float32bits (a function, not a variable: nothing swaps it).
func mathFloat32bits(f float32) uint32 { return math.Float32bits(f) }

// RequantMode selects how int32 accumulators are scaled back to int8.
type RequantMode int

const (
	// RequantFloat is the ONNX Runtime (MLAS MlasRequantizeOutput) form:
	//   v = float32(acc) * Scale[c]           (float32 conversion and multiply, round-to-nearest-even)
	//   v = min(max(v, float32(Min-OutZP)), float32(Max-OutZP))
	//   q = int32(roundHalfToEven(v)) + OutZP
	RequantFloat RequantMode = iota
	// RequantFixedPoint is the gemmlowp/TFLite form (double rounding, the TFLite default):
	//   q = MultiplyByQuantizedMultiplier(acc, Multiplier[c], Shift[c]) + OutZP, clamped to [Min, Max].
	RequantFixedPoint
)

func (m RequantMode) String() string {
	switch m {
	case RequantFloat:
		return "float"
	case RequantFixedPoint:
		return "fixedpoint"
	}
	return fmt.Sprintf("RequantMode(%d)", int(m))
}

// Requant describes the output stage of an int8 kernel: int32 accumulator (bias
// and zero-point corrections included) -> int8. Scale (RequantFloat) or
// Multiplier/Shift (RequantFixedPoint, shifts in [-31, 30]) hold one entry per
// output channel, or a single entry used for every channel. OutZP is in
// [-128, 127]. Min and Max are the clamp, within [-128, 127]; a fused
// Relu/Relu6/Clip is expressed by tightening them. A Requant is read-only for
// the kernels and may be shared by goroutines.
type Requant struct {
	Mode              RequantMode
	Scale             []float32
	Multiplier, Shift []int32
	OutZP             int32
	Min, Max          int32
}

// NewRequant builds a Requant from real multipliers scales[c] = s_in*s_w[c]/s_out
// (one per output channel, or one). Both representations are filled (Scale as
// float32(scales[c]), Multiplier/Shift by QuantizeMultiplier) so the same
// Requant can be switched between modes by changing Mode. qmin/qmax are clamped
// to [-128, 127].
//
// For bit-exactness with ONNX Runtime in RequantFloat mode, compute the scale as
// ORT does, in float32: RequantScaleF32(xScale, wScale[c], yScale).
func NewRequant(mode RequantMode, scales []float64, outZP, qmin, qmax int32) *Requant {
	if len(scales) == 0 {
		panic("kernels.NewRequant: no scales")
	}
	qmin = max(qmin, -128)
	qmax = min(qmax, 127)
	if qmin > qmax {
		panic(fmt.Sprintf("kernels.NewRequant: empty clamp range [%d, %d]", qmin, qmax))
	}
	rq := &Requant{Mode: mode, OutZP: outZP, Min: qmin, Max: qmax,
		Scale: make([]float32, len(scales)), Multiplier: make([]int32, len(scales)), Shift: make([]int32, len(scales))}
	for i, s := range scales {
		rq.Scale[i] = float32(s)
		rq.Multiplier[i], rq.Shift[i] = QuantizeMultiplier(s)
	}
	return rq
}

// RequantScaleF32 computes x_scale*w_scale/y_scale the way ONNX Runtime's
// QLinearConv/QLinearMatMul do (two float32 operations), so that RequantFloat
// reproduces ORT bit for bit.
func RequantScaleF32(xScale, wScale, yScale float32) float32 {
	p := float32(xScale * wScale)
	return float32(p / yScale)
}

// QuantizeMultiplier splits a real multiplier m into a Q31 fixed-point
// multiplier and a power-of-two exponent, exactly as TFLite's
// QuantizeMultiplier (tensorflow/lite/kernels/internal/quantization_util.cc):
// q, e = frexp(m); mult = round_half_away(q * 2^31); if mult == 2^31 { mult /= 2; e++ };
// if e < -31 { mult, e = 0, 0 }. Then m ≈ mult * 2^(shift-31).
// m == 0 gives (0, 0). Exponents above 30 (|m| >= 2^30), which TFLite leaves
// undefined, saturate to (±(2^31-1), 30).
func QuantizeMultiplier(m float64) (mult int32, shift int32) {
	if m == 0 || math.IsNaN(m) {
		return 0, 0
	}
	if math.IsInf(m, 0) {
		return int32(math.Copysign(math.MaxInt32, m)), 30
	}
	q, e := math.Frexp(m)
	qf := int64(math.Round(q * (1 << 31)))
	if qf == 1<<31 {
		qf /= 2
		e++
	}
	if e < -31 {
		return 0, 0
	}
	if e > 30 {
		if m > 0 {
			return math.MaxInt32, 30
		}
		return -math.MaxInt32, 30
	}
	return int32(qf), int32(e)
}

// SaturatingRoundingDoublingHighMul is gemmlowp's SRDHM: (a*b + nudge) / 2^31
// with nudge = 2^30 for a*b >= 0 and 1-2^30 otherwise, truncating division; the
// single overflow case a == b == INT32_MIN gives INT32_MAX. Equivalently
// (a*b + 2^30) >> 31 (arithmetic shift): round to nearest, ties towards +inf.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT is gemmlowp's rounding arithmetic right shift by e in
// [0, 31]: ties are rounded away from zero.
func RoundingDivideByPOT(x int32, e int32) int32 {
	mask := int32((int64(1) << uint(e)) - 1)
	rem := x & mask
	thr := mask >> 1
	if x < 0 {
		thr++
	}
	r := x >> uint(e)
	if rem > thr {
		r++
	}
	return r
}

// MultiplyByQuantizedMultiplier is TFLite's double-rounding
// MultiplyByQuantizedMultiplier: RoundingDivideByPOT(SRDHM(x << left, mult), right)
// with left = max(shift, 0), right = max(-shift, 0). The left shift wraps in two's
// complement like the int32 multiplication TFLite performs. shift must be in [-31, 30].
func MultiplyByQuantizedMultiplier(x, mult, shift int32) int32 {
	left, right := int32(0), int32(0)
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x<<uint(left), mult), right)
}

// RequantizeFloat is the scalar reference of RequantFloat.
func RequantizeFloat(acc int32, scale float32, outZP, qmin, qmax int32) int8 {
	v := float32(acc) * scale
	lo := float32(qmin - outZP)
	hi := float32(qmax - outZP)
	// max/min in this order with NaN mapping to lo, like MLAS (_mm_max_ps then _mm_min_ps).
	if !(v > lo) {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return int8(int32(math.RoundToEven(float64(v))) + outZP)
}

// RequantizeFixedPoint is the scalar reference of RequantFixedPoint.
func RequantizeFixedPoint(acc, mult, shift, outZP, qmin, qmax int32) int8 {
	v := MultiplyByQuantizedMultiplier(acc, mult, shift)
	// add the zero point without wrapping
	w := int64(v) + int64(outZP)
	w = max(w, int64(qmin))
	w = min(w, int64(qmax))
	return int8(w)
}

// Apply requantizes one accumulator for output channel c.
func (rq *Requant) Apply(acc int32, c int) int8 {
	if rq.Mode == RequantFixedPoint {
		i := c
		if len(rq.Multiplier) == 1 {
			i = 0
		}
		return RequantizeFixedPoint(acc, rq.Multiplier[i], rq.Shift[i], rq.OutZP, rq.Min, rq.Max)
	}
	i := c
	if len(rq.Scale) == 1 {
		i = 0
	}
	return RequantizeFloat(acc, rq.Scale[i], rq.OutZP, rq.Min, rq.Max)
}

// Rows requantizes len(src)/n rows of n accumulators into dst, column j
// taking output channel j's parameters (the same for all with a per-tensor
// Requant), on the vector path of the GEMM stores: for accumulators that are
// not requantized inside a GEMM, such as the int8 MatMul of two activations.
func (rq *Requant) Rows(src []int32, dst []int8, n int) {
	if len(src) == 0 {
		return
	}
	if n <= 0 || len(src)%n != 0 || len(dst) < len(src) {
		panic(fmt.Sprintf("kernels.Requant.Rows: %d accumulators, %d outputs, rows of %d", len(src), len(dst), n))
	}
	rq.expand(n).tile(src, n, len(src)/n, n, dst, n, 0)
}

// RowsTo is Rows writing row r of the result at dst[r*ldd:], ldd >= n: the
// fused int8 attention stores a head's output straight into the token-major
// tensor the output projection reads (heads interleaved along a row).
func (rq *Requant) RowsTo(src []int32, n int, dst []int8, ldd int) {
	if len(src) == 0 {
		return
	}
	rows := len(src) / max(n, 1)
	if n <= 0 || len(src)%n != 0 || ldd < n || len(dst) < (rows-1)*ldd+n {
		panic(fmt.Sprintf("kernels.Requant.RowsTo: %d accumulators, %d outputs, rows of %d, %d apart", len(src), len(dst), n, ldd))
	}
	rq.expand(n).tile(src, n, rows, n, dst, ldd, 0)
}

func (rq *Requant) check(n int) {
	if rq == nil {
		panic("kernels: nil Requant")
	}
	if rq.OutZP < -128 || rq.OutZP > 127 {
		panic(fmt.Sprintf("kernels: Requant output zero point %d outside [-128, 127]", rq.OutZP))
	}
	if rq.Min < -128 || rq.Max > 127 || rq.Min > rq.Max {
		panic(fmt.Sprintf("kernels: Requant clamp [%d, %d] not within [-128, 127]", rq.Min, rq.Max))
	}
	var l int
	if rq.Mode == RequantFixedPoint {
		l = len(rq.Multiplier)
		if len(rq.Shift) != l {
			panic("kernels: Requant Multiplier/Shift length mismatch")
		}
		for _, s := range rq.Shift {
			if s < -31 || s > 30 {
				panic(fmt.Sprintf("kernels: Requant shift %d outside [-31, 30]", s))
			}
		}
	} else {
		l = len(rq.Scale)
	}
	if l != 1 && l != n {
		panic(fmt.Sprintf("kernels: Requant has %d channel parameters, want 1 or %d", l, n))
	}
}

// rqParams is a Requant expanded to one parameter per channel for the kernels.
type rqParams struct {
	mode       RequantMode
	scale      []float32
	mult       []int32
	shift      []int32
	zp, lo, hi int32
}

func (rq *Requant) expand(n int) *rqParams {
	rq.check(n)
	p := &rqParams{mode: rq.Mode, zp: rq.OutZP, lo: rq.Min, hi: rq.Max}
	if rq.Mode == RequantFixedPoint {
		p.mult, p.shift = rq.Multiplier, rq.Shift
		if len(p.mult) == 1 && n > 1 {
			p.mult = make([]int32, n)
			p.shift = make([]int32, n)
			for i := range p.mult {
				p.mult[i], p.shift[i] = rq.Multiplier[0], rq.Shift[0]
			}
		}
	} else {
		p.scale = rq.Scale
		if len(p.scale) == 1 && n > 1 {
			p.scale = make([]float32, n)
			for i := range p.scale {
				p.scale[i] = rq.Scale[0]
			}
		}
	}
	return p
}

// requantRowGo requantizes n accumulators of channels [c0, c0+n).
func (p *rqParams) rowGo(src []int32, dst []int8, c0 int) {
	if p.mode == RequantFixedPoint {
		for i, v := range src {
			dst[i] = RequantizeFixedPoint(v, p.mult[c0+i], p.shift[c0+i], p.zp, p.lo, p.hi)
		}
		return
	}
	for i, v := range src {
		dst[i] = RequantizeFloat(v, p.scale[c0+i], p.zp, p.lo, p.hi)
	}
}
