package qat

import "math"

// The straight-through mask of an activation's fake quantization is PyTorch's
// (torch 1.13, the fake_quantize_per_tensor_affine / _cachemask CPU kernels that
// FakeQuantize, FusedMovingAvgObsFakeQuantize and FixedQParamsFakeQuantize run;
// pinned against torch's own gradients by TestSTEMaskMatchesTorch): the gradient
// passes where the unclamped code lies inside the grid,
//
//	qmin <= nearbyint(x * inv) + zp <= qmax,  inv = 1/scale in float32,
//
// nearbyint rounding half to even and x * inv a float32 product. That is half a
// step wider on each side than the clamp of the forward pass (x within about
// [(qmin-zp-0.5)s, (qmax-zp+0.5)s]; which end of a tie passes follows the
// parity of the code), so values the forward clamps by less than half a step
// still pass their gradient. qmin, qmax = -128, 127 (int8; PyTorch's quint8 0..255
// with zero point zp+128 is the same rule). The learned ranges (lsq.go) take the
// same mask; PyTorch's _fake_quantize_learnable_per_tensor_affine rounds
// zp + x*inv in float32 instead, which differs from it only where that sum's
// float32 rounding lands on a half-way point (an ulp or two below one).
//
// Weights need no mask: per-channel symmetric with scale max|w|/127 on [-127, 127]
// (weights.go), |round(w/scale)| <= 127 always, so the same rule passes every
// weight (TestWeightCodesNeverClamp).

// steCode is the code PyTorch's mask tests: nearbyint(x * inv) (no zero point).
func steCode(x, inv float32) float64 { return math.RoundToEven(float64(x * inv)) }

// steBounds returns the float32 interval [lo, hi] of the values whose gradient
// passes under PyTorch's rule for the grid (scale, zp): the smallest float32 x
// with nearbyint(x*inv) >= -128-zp and the largest with nearbyint(x*inv) <=
// 127-zp. x*inv and its rounding are monotone in x, so the passing values are
// exactly that interval, and the float32 kernels' inclusive lo <= x <= hi test
// (kernels.STESetF32) applies the rule bit for bit.
func steBounds(scale float32, zp int) (lo, hi float32) {
	inv := 1 / scale
	qlo, qhi := float64(-128-zp), float64(127-zp)
	// Start at the half-way points, then walk to the exact boundary float32
	// (a few ulps; bounded so that a degenerate scale cannot loop).
	hi = float32((qhi + 0.5) / float64(inv))
	lo = float32((qlo - 0.5) / float64(inv))
	up, down := float32(math.Inf(1)), float32(math.Inf(-1))
	for i := 0; i < 64 && steCode(hi, inv) > qhi; i++ {
		hi = math.Nextafter32(hi, down)
	}
	for i := 0; i < 64; i++ {
		next := math.Nextafter32(hi, up)
		if next == hi || steCode(next, inv) > qhi {
			break
		}
		hi = next
	}
	for i := 0; i < 64 && steCode(lo, inv) < qlo; i++ {
		lo = math.Nextafter32(lo, up)
	}
	for i := 0; i < 64; i++ {
		next := math.Nextafter32(lo, down)
		if next == lo || steCode(next, inv) < qlo {
			break
		}
		lo = next
	}
	return lo, hi
}

// steClampedCode is the code PyTorch's learnable fake quantization's backward
// takes the rounding residual from inside its mask: nearbyint(x/s) of the range
// gradient (lsq.go, t = x/s in float64) clamped to the grid [-128-zp, 127-zp],
// so that inside the half step beyond the clamp the residual is that of the
// clamped code (the forward's value), as in PyTorch's (xfq - x)/s.
func steClampedCode(t float64, zp int) float64 {
	return max(float64(-128-zp), min(float64(127-zp), math.RoundToEven(t)))
}
