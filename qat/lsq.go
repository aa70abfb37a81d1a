package qat

import (
	"math"
	"sort"
)

// Learned activation ranges (Options.Ranges "learned"): the range [lo, hi] of each
// quantized activation is a trainable parameter, updated by the optimizer with the
// weights, instead of following the batches' min/max. The gradient is that of the
// straight-through surrogate of fake quantization, as in LSQ (Esser et al., "Learned
// Step Size Quantization", 2020) and PyTorch's _LearnableFakeQuantize, written for the
// (lo, hi) parameters that quantizer.ParamsFromRange turns into scale and zero point:
// with s = (hi - lo)/255 and the rounding residual r = round(x/s) - x/s held constant,
//
//	x < lo (saturated low):   y = lo             dy/dlo = 1
//	x > hi (saturated high):  y = hi             dy/dhi = 1
//	inside:                   y = x + s*r        dy/dlo = -r/255, dy/dhi = r/255
//
// so a clipping point moves out when the values it clips matter to the loss, and in
// when finer steps inside the range do. The gradient is not scaled (PyTorch's
// default, use_grad_scaling=False): LSQ's factor 1/sqrt(numel(x) * 255) makes the
// steps of a range some 1e-7 at a learning rate of 0.01, below float32's resolution
// of a range of a few units, so over a 1-2 epoch fine-tune the ranges would not move
// at all (measured: the same model as --ranges fixed on 5 of 5 seeds of the MLP).
// The range stays around 0 (lo <= 0 <= hi), as ParamsFromRange requires: a step that
// would cross 0 stops at 0.

// rangeParam is the trainable form of a learned activation range.
type rangeParam struct {
	r *actRange
	p *Param
}

// learnedRanges returns the ranges that training may move (not fixed, not Sigmoid's or
// Softmax's parameters), each as a two-value parameter [lo, hi], in name order.
func (n *Net) learnedRanges() []rangeParam {
	names := make([]string, 0, len(n.ranges))
	for name, r := range n.ranges {
		if r.fixed == nil && !r.fromConst {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	rps := make([]rangeParam, len(names))
	for i, name := range names {
		r := n.ranges[name]
		rps[i] = rangeParam{r: r, p: newParam("range:"+name, []int{2}, []float32{r.lo, r.hi}, false)}
	}
	return rps
}

// zeroRangeGrads clears the accumulated range gradients before a backward pass.
func zeroRangeGrads(rps []rangeParam) {
	for _, rp := range rps {
		rp.r.glo, rp.r.ghi = 0, 0
	}
}

// rangeGradsToParams hands the gradients accumulated by the backward pass to the
// parameters the optimizer steps.
func rangeGradsToParams(rps []rangeParam) []*Param {
	ps := make([]*Param, len(rps))
	for i, rp := range rps {
		rp.p.W[0], rp.p.W[1] = rp.r.lo, rp.r.hi
		rp.p.G[0], rp.p.G[1] = float32(rp.r.glo), float32(rp.r.ghi)
		ps[i] = rp.p
	}
	return ps
}

// paramsToRanges writes the stepped parameters back into the ranges, kept around 0
// and non-empty.
func paramsToRanges(rps []rangeParam) {
	for _, rp := range rps {
		lo, hi := min(rp.p.W[0], 0), max(rp.p.W[1], 0)
		if hi-lo < 1e-6 {
			continue // an empty range has no scale: keep the last one
		}
		rp.r.lo, rp.r.hi = lo, hi
		rp.p.W[0], rp.p.W[1] = lo, hi
	}
}

// rangeGrad adds d(loss)/d(lo) and d(loss)/d(hi) of the surrogate above to the range,
// for the fake quantization y of x with upstream gradient gy. The sums run in fixed
// chunks and are added in order, so the result does not depend on the threads.
func (o *fqOp) rangeGrad(xs, gy []float32, threads int) {
	if len(gy) == 0 || len(gy) != len(xs) {
		return
	}
	s, zp := float64(o.p.Scale), float64(o.p.ZeroPoint)
	lo, hi := float32((-128-zp)*s), float32((127-zp)*s)
	const chunk = 1 << 14
	parts := (len(xs) + chunk - 1) / chunk
	dlo, dhi := make([]float64, parts), make([]float64, parts)
	parallel(parts, threads, func(a, b int) {
		for p := a; p < b; p++ {
			var l, h float64
			end := min((p+1)*chunk, len(xs))
			for i := p * chunk; i < end; i++ {
				v, g := xs[i], float64(gy[i])
				switch {
				case v < lo:
					l += g
				case v > hi:
					h += g
				default:
					t := float64(v) / s
					r := (math.RoundToEven(t) - t) / 255
					l -= g * r
					h += g * r
				}
			}
			dlo[p], dhi[p] = l, h
		}
	})
	for p := range parts {
		o.r.glo += dlo[p]
		o.r.ghi += dhi[p]
	}
}
