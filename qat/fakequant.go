package qat

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/quantizer"
)

// actRange is the range of a quantized activation (shared by the tensors whose
// parameters Quantize takes from it). In training mode with EMA ranges, the tensor
// that owns the range moves it toward each batch's min/max.
type actRange struct {
	name   string
	lo, hi float32
	fixed  *quantizer.QParams
	// fromConst: the range is a constant table's own min/max (with 0), kept by the
	// op that reads the table as that table trains (ops_embedding.go), as Quantize
	// quantizes a constant read as data; not calibrated, averaged or learned.
	fromConst bool
	// set: SetRanges gave the range (a calibrated [0, 0], the range of a term
	// that is zero on every calibration sample, is a range too).
	set bool
	// glo, ghi accumulate d(loss)/d(lo, hi) when the ranges are learned (lsq.go).
	glo, ghi float64
	// clip: Options.Ranges "ema-clip" (clipRange).
	clip bool
	clipRef
}

// clipRefSteps is the number of training steps over which "ema-clip" measures the
// batches' mean min/max before the moving averages start.
const clipRefSteps = 16

// clipRef is the state of an "ema-clip" range. Plain EMA ranges follow each batch's
// min/max, so the clipping a calibration method chose (PERCENTILE, MSE, SQNR,
// ENTROPY) is forgotten within a few hundred steps and the ranges widen (on a
// converged MobileNetV3-style net 12 of 21 ended more than 5 % wider, and QAT
// ended below its post-training start). "ema-clip" keeps the calibrated range for
// the first clipRefSteps steps while it measures the batches' mean min/max (mlo,
// mhi); from then on the EMA moves mlo, mhi and the range is kept at the fractions
// klo = lo/mlo, khi = hi/mhi the calibration chose of them. The reference is the
// batches' extremes, not the calibration's: a batch's min/max is narrower than that
// of a thousand images.
type clipRef struct {
	n                  int
	sumLo, sumHi       float64
	mlo, mhi, klo, khi float32
}

// clipRange moves r for a batch whose min/max are lo, hi, with averaging constant c.
func (r *actRange) clipRange(lo, hi, c float32) {
	if r.n < clipRefSteps {
		r.sumLo += float64(lo)
		r.sumHi += float64(hi)
		if r.n++; r.n < clipRefSteps {
			return
		}
		r.mlo, r.mhi = float32(r.sumLo/clipRefSteps), float32(r.sumHi/clipRefSteps)
		r.klo, r.khi = 1, 1
		if r.mlo < 0 {
			r.klo = r.lo / r.mlo
		}
		if r.mhi > 0 {
			r.khi = r.hi / r.mhi
		}
		return
	}
	r.mlo += c * (lo - r.mlo)
	r.mhi += c * (hi - r.mhi)
	r.lo, r.hi = r.klo*r.mlo, r.khi*r.mhi
}

// move moves r toward a batch whose min/max are lo, hi, with averaging constant c.
func (r *actRange) move(lo, hi, c float32) {
	if r.clip {
		r.clipRange(lo, hi, c)
		return
	}
	r.lo += c * (lo - r.lo)
	r.hi += c * (hi - r.hi)
}

func (r *actRange) params() quantizer.QParams {
	if r.fixed != nil {
		return *r.fixed
	}
	return quantizer.ParamsFromRange(r.lo, r.hi)
}

// fakeQuant rounds x to the int8 grid of (scale, zp) exactly as the runtime's
// QuantizeLinear (kernels.QuantizeF32: float32 division, clamp, round half to even)
// followed by DequantizeLinear (float32(q - zp) * scale).
//
// The rounding adds and subtracts 1.5*2^23 in float32: the clamped v lies within
// ±256 (|zp| ≤ 128), where that sum's rounding to nearest even is exactly
// math.RoundToEven's, without the round trip through float64 (v's sign bit is
// copied so that values in (-0.5, 0] give -0 as RoundToEven does).
func fakeQuant(x float32, scale float32, zp int) float32 {
	const magic = 0x1.8p23
	lo, hi := float32(-128-zp), float32(127-zp)
	v := x / scale
	if !(v > lo) {
		v = lo
	}
	if v > hi {
		v = hi
	}
	r := float32(float32(v+magic) - magic)
	r = math.Float32frombits(math.Float32bits(r) | math.Float32bits(v)&(1<<31))
	return r * scale
}

// fqOp fake-quantizes an activation (straight-through estimator: the gradient passes
// where x lies inside the representable range, and is zero where it saturated).
type fqOp struct {
	node    string
	in, out int
	r       *actRange
	owner   bool // updates r (EMA) in training
	// finiteRange: the input holds infinities by construction (a Pad with an
	// infinite value: a max pool's -inf padding), which the moving range skips,
	// as calibration does. Elsewhere an infinity is a diverged step: it reaches
	// the range and the loss, and training stops there.
	finiteRange bool
	p           quantizer.QParams
	// writeGrad: the only reader of in, so backward writes in's gradient
	// (not cleared by Backward) instead of adding to it.
	writeGrad bool
	// relu: the Relu that computes in, fused into this op (net.go,
	// fuseReluFakeQuant).
	relu *unaryOp
	// steDone: the reading convolution applied this op's straight-through
	// gradient in its store this step (fuseSTEIntoConv); backward skips it.
	steDone bool
	// rangeFrom: the convolution (forward store) or Add (its pass) that computes
	// the min/max of this op's input (fuseMinMaxIntoConv); nil: this op scans
	// its input.
	rangeFrom batchRange
	// addFused: the Add that reads this op's output, alone, and quantizes its
	// operand itself in its own pass (fuseFakeQuantIntoAdd); this op then only
	// moves its range, and the Add writes its output when it cannot fuse.
	addFused *binaryOp
	// convFused: the convolution that reads this op's output, alone, and
	// fake-quantizes this op's input itself as it lays it out
	// (fuseFakeQuantIntoConv); this op then only moves its range, and the
	// convolution writes its output when it takes a path without that layout.
	convFused *convOp
	// pending: the batch's min/max so far (plo, phi), gathered over the parts
	// of a batch run in micro-batches (microbatch.go).
	pending  bool
	plo, phi float32
}

// batchRange is an op that computes the min/max of its output in its forward
// pass for the fake quantization that reads it (fuseMinMaxIntoConv).
type batchRange interface {
	// batchMinMax returns the min/max of slot s if the op computed them this
	// step (s its output).
	batchMinMax(s int) (lo, hi float32, ok bool)
	// dropRange stops the computation (tests compare against the scan).
	dropRange()
}

// followsBatch reports whether this op moves its range toward the batch's
// min/max this step (EMA ranges in training).
func (o *fqOp) followsBatch(n *Net) bool {
	return o.owner && n.training && n.emaRanges && o.r.fixed == nil
}

func (o *fqOp) label() string { return o.node }

// fusedRelu reports whether the op quantizes its Relu's input itself this step.
func (o *fqOp) fusedRelu(n *Net) bool { return o.relu != nil && !n.learnRanges }

func (o *fqOp) forward(n *Net) error {
	fused := o.fusedRelu(n)
	in := o.in
	if fused {
		in = o.relu.in
	}
	x, y := n.vals[in], n.vals[o.out]
	y.resize(x.shape)
	if o.followsBatch(n) && len(x.data) > 0 {
		var lo, hi float32
		ok := false
		if c := o.rangeFrom; c != nil {
			lo, hi, ok = c.batchMinMax(in) // computed in the producer's pass
		}
		if !ok {
			lo, hi = minMax(x.data, n.threads)
		}
		if o.finiteRange && (isInfOrNaN(lo) || isInfOrNaN(hi)) {
			lo, hi, ok = finiteMinMax(x.data)
			if !ok {
				lo, hi = o.r.lo, o.r.hi
			}
		}
		if fused {
			lo, hi = max(lo, 0), max(hi, 0)
		}
		if n.deferRanges {
			o.deferRange(lo, hi) // moved once the batch's parts have all run
		} else {
			o.r.move(lo, hi, n.emaConst)
		}
	}
	o.p = o.r.params()
	if o.addFused != nil || o.convFused != nil {
		return nil // the reader quantizes x in its own pass
	}
	o.quantize(n)
	return nil
}

// quantize writes the output: the fake quantization of the input (of the fused
// Relu's input, through max(x, 0)), with the parameters of this step.
func (o *fqOp) quantize(n *Net) {
	x, fused := o.source(n)
	y := n.vals[o.out]
	s, zp := o.p.Scale, o.p.ZeroPoint
	parallel(len(x), n.threads, func(lo, hi int) {
		if fused {
			kernels.FakeQuantReluF32(x[lo:hi], y.data[lo:hi], s, int32(zp))
			return
		}
		fakeQuantSlice(x[lo:hi], y.data[lo:hi], s, zp)
	})
}

// source returns the values this op quantizes this step: its input's, or with
// a fused Relu (relu) the Relu's input's.
func (o *fqOp) source(n *Net) (x []float32, relu bool) {
	if o.fusedRelu(n) {
		return n.vals[o.relu.in].data, true
	}
	return n.vals[o.in].data, false
}

// fillQuant returns the source and the fake quantization a convolution applies
// as it lays that source out (fuseFakeQuantIntoConv).
func (o *fqOp) fillQuant(n *Net) ([]float32, *fillQuant) {
	x, relu := o.source(n)
	return x, &fillQuant{scale: o.p.Scale, zp: int32(o.p.ZeroPoint), relu: relu}
}

// fakeQuantSlice sets y[i] = fakeQuant(x[i], scale, zp) with the runtime's own
// rounding (kernels.FakeQuantF32: QuantizeF32's float32 division, clamp and round
// half to even, then DequantizeLinear's float32(q - zp) * scale, vectorised): the
// same values as fakeQuant (NaN goes to the lowest code in both; a quotient
// rounded to zero gives +0 where fakeQuant keeps -0).
func fakeQuantSlice(x, y []float32, scale float32, zp int) {
	kernels.FakeQuantF32(x, y, scale, int32(zp))
}

func (o *fqOp) backward(n *Net) {
	if o.steDone {
		// the reading convolution wrote x's gradient in its store
		o.steDone = false
		return
	}
	x, y := n.vals[o.in], n.vals[o.out]
	write, lo, hi := o.steArgs(n)
	if o.fusedRelu(n) {
		x = n.vals[o.relu.in]
	} else if n.learnRanges && o.r.fixed == nil {
		o.rangeGrad(x.data, y.grad, n.threads)
	}
	if x.grad == nil {
		return
	}
	parallel(len(y.grad), n.threads, func(a, b int) {
		if write {
			kernels.STESetF32(x.data[a:b], y.grad[a:b], x.grad[a:b], lo, hi)
			return
		}
		kernels.STEAddF32(x.data[a:b], y.grad[a:b], x.grad[a:b], lo, hi)
	})
}

// steArgs returns how the straight-through gradient goes to the tensor whose
// gradient this op computes (its input, or the fused Relu's input): written
// or added, and the range [lo, hi] of that tensor's values that pass it.
func (o *fqOp) steArgs(n *Net) (write bool, lo, hi float32) {
	write = o.writeGrad
	s, zp := float64(o.p.Scale), float64(o.p.ZeroPoint)
	lo, hi = float32((-128-zp)*s), float32((127-zp)*s)
	if o.fusedRelu(n) {
		// the Relu's mask, x in [smallest positive, +Inf], and this one's
		write = o.relu.writeGrad
		lo = max(lo, math.SmallestNonzeroFloat32)
	}
	return write, lo, hi
}

// fusedSTE returns the destination of the straight-through gradient when the
// reading convolution can write it in its store this step (fuseSTEIntoConv):
// the gradient is written, not added, and the output's gradient is not needed
// (learned ranges take it for the range gradient).
func (o *fqOp) fusedSTE(n *Net) (ste *steStore) {
	write, lo, hi := o.steArgs(n)
	if !write || n.learnRanges && o.r.fixed == nil && !o.fusedRelu(n) {
		return nil
	}
	x := n.vals[o.in]
	if o.fusedRelu(n) {
		x = n.vals[o.relu.in]
	}
	if x.grad == nil {
		return nil
	}
	return &steStore{x: x.data, dx: x.grad, lo: lo, hi: hi}
}

// steStore is a fake quantization's straight-through gradient applied in a
// convolution's input-gradient store: dx = (the convolution's input gradient
// where lo <= x <= hi, else 0) + 0, dx and x laid out as the convolution's
// input. With acc (the convolution is the first of several readers, so its
// backward pass is the last to reach the gradient acc the others accumulated)
// the masked value is acc + the convolution's input gradient, acc is not
// written.
type steStore struct {
	x, dx, acc []float32
	lo, hi     float32
}

// minMax returns the smallest and largest value of xs (not empty), scanned in
// parallel (exact: the result does not depend on the split).
func minMax(xs []float32, threads int) (float32, float32) {
	parts := max(1, min(resolveThreads(threads), len(xs)/4096))
	los, his := make([]float32, parts), make([]float32, parts)
	chunk := (len(xs) + parts - 1) / parts
	parallel(parts, parts, func(a, b int) {
		for p := a; p < b; p++ {
			los[p], his[p] = minMaxSeg(xs[p*chunk : min((p+1)*chunk, len(xs))])
		}
	})
	lo, hi := los[0], his[0]
	for p := 1; p < parts; p++ {
		lo, hi = min(lo, los[p]), max(hi, his[p])
	}
	return lo, hi
}

// minMaxSeg is the smallest and largest value of seg (not empty), vectorised
// (kernels.MinMaxF32; exact, so the result is that of one running pair).
func minMaxSeg(seg []float32) (float32, float32) { return kernels.MinMaxF32(seg) }

// weightScales returns max|w|/127 per slice along axis (all-zero slices get 1), as
// Quantize stores weights.
func weightScales(w []float32, shape []int, axis int, dst []float32, threads int) []float32 {
	outer, ch, inner := graph.SplitAxis(shape, axis)
	dst = grow(dst, ch)
	parallel(ch, threads, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var amax float32
			for o := 0; o < outer; o++ {
				for _, v := range w[(o*ch+c)*inner : (o*ch+c+1)*inner] {
					amax = max(amax, abs32(v))
				}
			}
			s := float64(amax) / 127
			if s == 0 {
				s = 1
			}
			dst[c] = float32(math.Max(s, 1e-10))
		}
	})
	return dst
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// fakeQuantWeights rounds w per channel to [-127, 127] * scale.
func fakeQuantWeights(w []float32, shape []int, axis int, scales, dst []float32, threads int) {
	outer, ch, inner := graph.SplitAxis(shape, axis)
	parallel(outer*ch, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			s := float64(scales[r%ch])
			base := r * inner
			d := dst[base : base+inner]
			for i, v := range w[base : base+inner] {
				d[i] = float32(clampWeightCode(math.RoundToEven(float64(v)/s)) * s)
			}
		}
	})
}

// clampWeightCode is math.Max(-127, math.Min(127, q)) with the builtin min and
// max, which the compiler turns into a few instructions where math.Max and
// math.Min are calls (the weights' fake quantization, every step, was 2 % of a
// ResNet step): the same results (-0 as -0; a NaN stays a NaN).
func clampWeightCode(q float64) float64 { return max(-127, min(127, q)) }

// fakeQuantBias rounds a per-channel bias to the int32 grid of scale sIn*sW[c].
func fakeQuantBias(b []float32, sIn float32, sW, dst []float32) {
	for i, v := range b {
		s := float64(sIn * sW[i%len(sW)]) // float32 product, as Quantize computes it
		dst[i] = float32(math.RoundToEven(float64(v)/s) * s)
	}
}

func isInfOrNaN(v float32) bool { return math.IsInf(float64(v), 0) || v != v }

// finiteMinMax returns the smallest and largest finite value of x; ok is false
// when x holds none.
func finiteMinMax(x []float32) (lo, hi float32, ok bool) {
	for _, v := range x {
		if isInfOrNaN(v) {
			continue
		}
		if !ok {
			lo, hi, ok = v, v, true
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi, ok
}
