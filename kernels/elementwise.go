package kernels

import (
	"fmt"
	"math"
)

// QBinary is an int8 elementwise binary operator with requantization, built by
// NewQAdd or NewQMul.
//
// Add: out = clamp(roundHalfToEven((ta[a] + tb[b]) / outScale) + outZP, qmin, qmax),
// Mul: out = clamp(roundHalfToEven((ta[a] * tb[b]) / outScale) + outZP, qmin, qmax),
// with ta[a] = float32(a-aZP) * aScale and likewise tb (float32 operations, no FMA):
// the arithmetic a QDQ file states (DequantizeLinear, a float32 Add or Mul,
// QuantizeLinear's division by its scale), which ONNX Runtime computes at every
// optimisation level (also in its QLinearAdd and QLinearMul). Combined scales,
// float32(aScale/outScale)·float32(a-aZP) + ... for Add and float32((a-aZP)·(b-bZP)) ·
// float32(aScale*bScale/outScale) for Mul, differ from it in the last bit, and near a
// rounding boundary that is a code: 124 to 342 of the 65,536 code pairs of the Mul for
// the scales tried, 448 for an Add (fifteenth session).
type QBinary struct {
	mul        bool
	ta, tb     [256]float32 // dequantized codes, indexed by uint8(q)
	outScale   float32
	aZP, bZP   int32
	outZP      int32
	qmin, qmax int32
	// vec holds the parameters of the assembly kernels:
	// [aZP, bZP, outZP, bits(aScale), bits(bScale), bits(qmin-outZP), bits(qmax-outZP), b stride,
	// bits(outScale)]
	vec [9]int32
}

func (p *QBinary) setVec(r0, r1, r2 float32) {
	p.vec = [9]int32{p.aZP, p.bZP, p.outZP, int32(math.Float32bits(r0)), int32(math.Float32bits(r1)),
		int32(math.Float32bits(float32(p.qmin - p.outZP))), int32(math.Float32bits(float32(p.qmax - p.outZP))), 8,
		int32(math.Float32bits(r2))}
}

func newQBinary(qmin, qmax int32) (int32, int32) {
	qmin = max(qmin, -128)
	qmax = min(qmax, 127)
	if qmin > qmax {
		panic(fmt.Sprintf("kernels: empty clamp range [%d, %d]", qmin, qmax))
	}
	return qmin, qmax
}

// NewQAdd builds out = a + b for int8 tensors with their own scales and zero points.
func NewQAdd(aScale float32, aZP int32, bScale float32, bZP int32, outScale float32, outZP, qmin, qmax int32) *QBinary {
	p := &QBinary{aZP: aZP, bZP: bZP, outZP: outZP, outScale: outScale}
	p.qmin, p.qmax = newQBinary(qmin, qmax)
	for q := -128; q < 128; q++ {
		p.ta[uint8(int8(q))] = float32(int32(q)-aZP) * aScale
		p.tb[uint8(int8(q))] = float32(int32(q)-bZP) * bScale
	}
	p.setVec(aScale, bScale, outScale)
	return p
}

// NewQMul builds out = a * b for int8 tensors with their own scales and zero points.
func NewQMul(aScale float32, aZP int32, bScale float32, bZP int32, outScale float32, outZP, qmin, qmax int32) *QBinary {
	p := &QBinary{mul: true, aZP: aZP, bZP: bZP, outZP: outZP, outScale: outScale}
	p.qmin, p.qmax = newQBinary(qmin, qmax)
	for q := -128; q < 128; q++ {
		p.ta[uint8(int8(q))] = float32(int32(q)-aZP) * aScale
		p.tb[uint8(int8(q))] = float32(int32(q)-bZP) * bScale
	}
	p.setVec(aScale, bScale, outScale)
	return p
}

func (p *QBinary) finish(v float32) int8 {
	lo := float32(p.qmin - p.outZP)
	hi := float32(p.qmax - p.outZP)
	if !(v > lo) {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return int8(int32(math.RoundToEven(float64(v))) + p.outZP)
}

// Apply computes out[i] = a[i] op b[i]; all three have the same length
// (broadcasting is the caller's job). out may alias a or b.
func (p *QBinary) Apply(a, b, out []int8) {
	n := len(out)
	_, _ = a[:n], b[:n]
	p.apply(a, b, out)
}

// applyGo is the reference of Apply.
func (p *QBinary) applyGo(a, b, out []int8) {
	n := len(out)
	_, _ = a[:n], b[:n]
	if p.mul {
		for i := 0; i < n; i++ {
			x := p.ta[uint8(a[i])] * p.tb[uint8(b[i])]
			out[i] = p.finish(x / p.outScale)
		}
		return
	}
	for i := 0; i < n; i++ {
		out[i] = p.finish((p.ta[uint8(a[i])] + p.tb[uint8(b[i])]) / p.outScale)
	}
}

// LUT is a 256-entry int8 lookup table indexed by uint8(q).
type LUT [256]int8

// BuildLUT tabulates a unary function on the int8 grid:
// t[q] = clamp(roundHalfToEven(f(inScale·(q-inZP)) / outScale) + outZP, -128, 127),
// evaluated in float64 (inScale and outScale widened from float32).
func BuildLUT(f func(float64) float64, inScale float32, inZP int32, outScale float32, outZP int32) *LUT {
	var t LUT
	for q := -128; q < 128; q++ {
		x := float64(inScale) * float64(int32(q)-inZP)
		y := f(x) / float64(outScale)
		var v float64
		switch {
		case math.IsNaN(y):
			v = float64(outZP)
		default:
			v = math.RoundToEven(y) + float64(outZP)
		}
		v = math.Max(-128, math.Min(127, v))
		t[uint8(int8(q))] = int8(v)
	}
	return &t
}

// Apply maps in through the table into out (same length; may alias).
func (t *LUT) Apply(in, out []int8) {
	_ = out[:len(in)]
	lutApply(t, in, out)
}

func lutApplyGo(t *LUT, in, out []int8) {
	_ = out[:len(in)]
	for i, q := range in {
		out[i] = t[uint8(q)]
	}
}
