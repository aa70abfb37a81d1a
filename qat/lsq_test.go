package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/quantizer"
)

// TestLearnedRangeGradient checks the range gradient against central finite
// differences of the straight-through surrogate it differentiates (lsq.go): with the
// saturation of each value and its rounding residual r = round(x/s) - x/s held at the
// base point, y = lo below the range, hi above it, x + s(lo, hi)*r inside, s = (hi -
// lo)/255, and the loss sum(gy*y). Fake quantization
// itself is piecewise constant in lo and hi, so only the surrogate has a derivative
// to compare with; TestLearnedRangeReducesQuantError checks that following it
// improves the real function. Values fall below, inside and above the range, in more
// than one chunk of the parallel sum, and the result must not depend on the threads.
func TestLearnedRangeGradient(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const n = 40000
	xs, gy := make([]float32, n), make([]float32, n)
	for i := range xs {
		xs[i] = float32(rng.Float64()*5 - 2) // [-2, 3): saturates on both sides of [-1.3, 2.1]
		gy[i] = float32(rng.NormFloat64())
	}
	for _, c := range []struct{ lo, hi float32 }{{-1.3, 2.1}, {-0.4, 0.9}, {-2.5, 1.7}} {
		grads := func(threads int) (float64, float64) {
			o := &fqOp{r: &actRange{lo: c.lo, hi: c.hi}}
			o.p = o.r.params()
			o.rangeGrad(xs, gy, threads)
			return o.r.glo, o.r.ghi
		}
		glo, ghi := grads(1)
		glo2, ghi2 := grads(3)
		require.Equal(t, glo, glo2, "threads change the sum")
		require.Equal(t, ghi, ghi2)

		p := quantizer.ParamsFromRange(c.lo, c.hi)
		s0, zp := float64(p.Scale), float64(p.ZeroPoint)
		qlo, qhi := float32((-128-zp)*s0), float32((127-zp)*s0)
		surrogate := func(lo, hi float64) float64 {
			s := (hi - lo) / 255
			var sum float64
			for i, v := range xs {
				var y float64
				switch {
				case v < qlo:
					y = lo
				case v > qhi:
					y = hi
				default:
					t0 := float64(v) / s0
					y = float64(v) + s*(math.RoundToEven(t0)-t0)
				}
				sum += float64(gy[i]) * y
			}
			return sum
		}
		const eps = 1e-3
		l, h := float64(c.lo), float64(c.hi)
		fdLo := (surrogate(l+eps, h) - surrogate(l-eps, h)) / (2 * eps)
		fdHi := (surrogate(l, h+eps) - surrogate(l, h-eps)) / (2 * eps)
		assert.InDelta(t, fdLo, glo, 1e-6*math.Max(1, math.Abs(fdLo)), "d/dlo for %v", c)
		assert.InDelta(t, fdHi, ghi, 1e-6*math.Max(1, math.Abs(fdHi)), "d/dhi for %v", c)
		assert.NotZero(t, glo)
		assert.NotZero(t, ghi)
	}
}

// TestLearnedRangeReducesQuantError: gradient steps on a range with the LSQ gradient
// of the mean squared quantization error (upstream gradient fq(x) - x) lower that
// error as fake quantization really computes it. The range starts four times too
// wide for normally distributed values, so the steps are coarse and the error large.
func TestLearnedRangeReducesQuantError(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	xs := make([]float32, 20000)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	r := &actRange{lo: -16, hi: 16}
	mse := func() float64 {
		p := r.params()
		var sum float64
		for _, v := range xs {
			d := float64(fakeQuant(v, p.Scale, p.ZeroPoint) - v)
			sum += d * d
		}
		return sum / float64(len(xs))
	}
	start := mse()
	rp := []rangeParam{{r: r, p: newParam("range", []int{2}, []float32{r.lo, r.hi}, false)}}
	opt := newOptimizer(Options{Optimizer: "sgd"})
	gy := make([]float32, len(xs))
	for range 200 {
		o := &fqOp{r: r, p: r.params()}
		for i, v := range xs {
			gy[i] = fakeQuant(v, o.p.Scale, o.p.ZeroPoint) - v
		}
		zeroRangeGrads(rp)
		o.rangeGrad(xs, gy, 1)
		opt.step(rangeGradsToParams(rp), 0.01, 1)
		paramsToRanges(rp)
	}
	end := mse()
	assert.Less(t, end, start/4, "the error falls (%g -> %g), range [%g, %g]", start, end, r.lo, r.hi)
	assert.Less(t, r.hi, float32(16))
	assert.Greater(t, r.lo, float32(-16))
	assert.LessOrEqual(t, r.lo, float32(0))
	assert.GreaterOrEqual(t, r.hi, float32(0))
}

// TestFitLearnedRanges: with Ranges "learned" training moves the ranges (as
// parameters, not toward batch min/max: a frozen schedule leaves them), the result is
// deterministic, and an unknown mode is refused.
func TestFitLearnedRanges(t *testing.T) {
	run := func(freeze float64) quantizer.Ranges {
		n := gemmNet(t)
		_, err := n.Fit(constData{40, 0}, Options{Epochs: 1, Batch: 4, Ranges: "learned", FreezeRangesAfter: freeze, FreezeBNAfter: -1})
		require.NoError(t, err)
		return n.Ranges()
	}
	start := quantizer.Ranges{"x": {-1, 1}, "y": {-1, 1}}
	learned := run(-1)
	assert.NotEqual(t, start, learned, "the ranges train")
	assert.Equal(t, learned, run(-1), "deterministic")
	assert.Equal(t, start, run(0), "frozen from the start")
	for name, r := range learned {
		assert.LessOrEqual(t, r[0], float32(0), name)
		assert.GreaterOrEqual(t, r[1], float32(0), name)
	}
	n := gemmNet(t)
	_, err := n.Fit(constData{4, 0}, Options{Ranges: "pact"})
	require.ErrorContains(t, err, "unknown range mode")
}
