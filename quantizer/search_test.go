package quantizer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// klNaive is a direct port of TensorRT's _compute_amax_entropy candidate loop (one
// O(i) pass per candidate), returning the KL of every candidate.
func klNaive(c []float64, levels int) map[int]float64 {
	return klNaiveSpikes(c, make([]float64, len(c)), levels)
}

// klNaiveSpikes is klNaive with point masses s carried exactly in the candidate.
func klNaiveSpikes(c, s []float64, levels int) map[int]float64 {
	n := len(c)
	total := sum(c) + sum(s)
	out := map[int]float64{}
	for i := levels; i <= n; i++ {
		p := append([]float64(nil), c[:i]...)
		for j := range p {
			p[j] += s[j]
		}
		p[i-1] += sum(c[i:]) + sum(s[i:])
		sums := make([]float64, levels)
		nz := make([]float64, levels)
		for j := 0; j < i; j++ {
			m := j * levels / i
			if c[j] > 0 {
				sums[m] += c[j]
				nz[m]++
			}
		}
		q := make([]float64, i)
		qs := 0.0
		for j := 0; j < i; j++ {
			if c[j] > 0 {
				m := j * levels / i
				q[j] = sums[m] / nz[m]
			}
			q[j] += s[j]
			qs += q[j]
		}
		kl := 0.0
		for j := 0; j < i; j++ {
			if p[j] == 0 {
				continue
			}
			pn, qn := p[j]/total, q[j]/qs
			if qn == 0 {
				kl = math.Inf(1)
				break
			}
			kl += pn * math.Log(pn/qn)
		}
		out[i] = kl
	}
	return out
}

// The prefix-sum search with point masses against the direct computation.
func TestKLSearchPointMassesMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for trial := 0; trial < 5; trial++ {
		n := 300
		c, s := make([]float64, n), make([]float64, n)
		for j := range c {
			c[j] = math.Floor(1000 * math.Exp(-float64(j)/40) * rng.Float64())
		}
		for k := 0; k < 6; k++ {
			s[rng.Intn(n)] += float64(rng.Intn(20000))
		}
		levels := 32
		got := klSearch(c, s, levels, levels)
		ref := klNaiveSpikes(c, s, levels)
		best := math.Inf(1)
		for _, v := range ref {
			best = math.Min(best, v)
		}
		require.Contains(t, ref, got)
		assert.InDelta(t, best, ref[got], 1e-9*math.Max(1, best), "trial %d", trial)
	}
}

func TestKLThresholdMatchesTensorRT(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	tests := []struct {
		name   string
		gen    func() float64
		levels int
	}{
		{"gaussian", func() float64 { return math.Abs(rng.NormFloat64()) }, 128},
		{"exponential", func() float64 { return rng.ExpFloat64() }, 256},
		{"heavy tail", func() float64 { return math.Abs(rng.NormFloat64() / (rng.Float64() + 0.05)) }, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistogram()
			vals := make([]float32, 20000)
			for i := range vals {
				vals[i] = float32(tt.gen())
			}
			require.NoError(t, h.add(vals))
			c := h.side(false)
			// A coarser histogram keeps the O(n^2 x levels) reference fast.
			c = c[:len(c)/4*4]
			merged := make([]float64, len(c)/4)
			for i, v := range c {
				merged[i/4] += v
			}
			got := klSearch(merged, make([]float64, len(merged)), tt.levels, tt.levels)
			ref := klNaive(merged, tt.levels)
			best := math.Inf(1)
			for _, v := range ref {
				best = math.Min(best, v)
			}
			require.Contains(t, ref, got)
			assert.InDelta(t, best, ref[got], 1e-9, "fast search picked a non-minimal candidate")
			// TensorRT takes the last argmin.
			for i, v := range ref {
				if i > got {
					assert.Greater(t, v, best+1e-12*math.Abs(best)-1e-15, "candidate %d has KL %g <= best %g", i, v, best)
				}
			}
		})
	}
}

// fakeQuantMSE is the mean squared error of quantizing xs with the int8 parameters of
// [lo, hi].
func fakeQuantMSE(xs []float32, lo, hi float64) float64 {
	p := paramsFromRange(float32(lo), float32(hi))
	var s float64
	for _, x := range xs {
		q := quantizeValue(x, p)
		d := float64(float32(int(q)-int(p.zp))*p.scale) - float64(x)
		s += d * d
	}
	return s / float64(len(xs))
}

func TestSearchRangeProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	signed := make([]float32, 50000)
	for i := range signed {
		signed[i] = float32(rng.NormFloat64())
	}
	signed[0], signed[1] = 40, -12 // outliers
	relu := make([]float32, 50000)
	for i := range relu {
		if v := rng.NormFloat64(); v > 0 {
			relu[i] = float32(v * v)
		}
	}
	relu[0] = 60
	uniform := make([]float32, 50000)
	for i := range uniform {
		uniform[i] = rng.Float32()
	}
	datasets := []struct {
		name string
		data []float32
	}{{"signed", signed}, {"relu", relu}, {"uniform", uniform}}
	for _, ds := range datasets {
		h := newHistogram()
		// Several batches, growing range, as during calibration.
		for i := 0; i < len(ds.data); i += 5000 {
			require.NoError(t, h.add(ds.data[i:min(i+5000, len(ds.data))]))
		}
		for _, m := range Methods() {
			t.Run(ds.name+"/"+m.String(), func(t *testing.T) {
				r := searchRange(h, m, DefaultPercentile)
				mm := searchRange(h, MinMaxAsym, DefaultPercentile)
				if m.Symmetric() {
					mm = searchRange(h, MinMaxSym, DefaultPercentile)
				}
				assert.LessOrEqual(t, r.lo, 0.0)
				assert.GreaterOrEqual(t, r.hi, 0.0)
				assert.Greater(t, r.hi-r.lo, 0.0)
				if m.Symmetric() {
					if h.min >= 0 {
						assert.Equal(t, 0.0, r.lo, "symmetric range of a non-negative tensor is [0, a]")
					} else {
						assert.Equal(t, -r.lo, r.hi)
					}
					assert.LessOrEqual(t, r.hi, math.Max(-h.min, h.max)+1e-12)
				} else {
					assert.GreaterOrEqual(t, r.lo, math.Min(h.min, 0))
					assert.LessOrEqual(t, r.hi, math.Max(h.max, 0))
				}
				if m.Kind() == KindMinMax || ds.name == "uniform" {
					return
				}
				// MSE and SQNR search for a smaller quantization error than MIN_MAX's.
				if m.Kind() == KindMSE || m.Kind() == KindSQNR {
					assert.LessOrEqual(t, fakeQuantMSE(ds.data, r.lo, r.hi), fakeQuantMSE(ds.data, mm.lo, mm.hi),
						"%s should not lose to MIN_MAX on the error of data with outliers", m)
				}
				if m == SQNRAsym {
					return // AIMET's 17 coarse asymmetric candidates may keep the full range
				}
				// With outliers every other histogram method clips.
				assert.Less(t, r.hi, h.max, "%s kept the outlier", m)
				assert.False(t, r.collapsed)
				assert.Greater(t, r.clipped, 0.0)
			})
		}
	}
}

func TestSearchRangeUniform(t *testing.T) {
	h := newHistogram()
	vals := make([]float32, 100000)
	for i := range vals {
		vals[i] = float32(i) / float32(len(vals)) // [0, 1)
	}
	require.NoError(t, h.add(vals))
	tests := []struct {
		m      Method
		lo, hi float64
		tol    float64
	}{
		{MinMaxAsym, 0, 0.99999, 1e-6},
		{MinMaxSym, 0, 0.99999, 1e-6},
		{PercentileSym, 0, 0.9999, 1e-3},
		{PercentileAsym, 0, 0.99995, 1e-3},
		{MSEAsym, 0, 1, 0.01},
		{SQNRAsym, 0, 1, 0.02},
	}
	for _, tt := range tests {
		t.Run(tt.m.String(), func(t *testing.T) {
			r := searchRange(h, tt.m, DefaultPercentile)
			assert.InDelta(t, tt.lo, r.lo, tt.tol)
			assert.InDelta(t, tt.hi, r.hi, tt.tol)
		})
	}
}

func TestSearchRangeDegenerate(t *testing.T) {
	empty := newHistogram()
	zeros := newHistogram()
	require.NoError(t, zeros.add([]float32{0, 0, 0}))
	constant := newHistogram()
	require.NoError(t, constant.add([]float32{-3, -3, -3}))
	for _, m := range Methods() {
		t.Run(m.String(), func(t *testing.T) {
			r := searchRange(empty, m, DefaultPercentile)
			assert.Equal(t, 0.0, r.lo)
			assert.Equal(t, 0.0, r.hi)
			r = searchRange(zeros, m, DefaultPercentile)
			assert.Equal(t, 0.0, r.lo)
			assert.Equal(t, 0.0, r.hi)
			r = searchRange(constant, m, DefaultPercentile)
			assert.InDelta(t, -3, r.lo, 0.01, "a constant tensor keeps its value")
			assert.GreaterOrEqual(t, r.hi, 0.0)
		})
	}
}
