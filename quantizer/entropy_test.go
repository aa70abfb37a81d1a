package quantizer

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Synthetic histograms of scripts/entropy_reference.py (same closed formulas), and the
// thresholds its independent numpy search computed (in bins of 2048):
//
//	/usr/bin/python3 scripts/entropy_reference.py
const (
	refReLU6Bins      = 2048 // point masses carried exactly: the whole [0, 6]
	refReLU6PlainBins = 274  // TensorRT's loop unchanged: [0, 0.80] (the reported failure)
	refHeavyTail128   = 648  // Student-t |x| over [0, 40], 128 levels: 12.66
	refHeavyTail256   = 779  // the same, 256 levels: 15.21
)

func relu6Like() (c, s []float64, w float64) {
	const n = entropyBins
	w = 6.0 / n
	c, s = make([]float64, n), make([]float64, n)
	F := func(x float64) float64 { return -0.5 * math.Exp(-x/0.5) }
	for j := range c {
		c[j] = 1e6 / 0.5 * (F(float64(j+1)*w) - F(float64(j)*w))
	}
	for _, v := range []float64{0.2, 0.35, 0.5, 0.65, 0.8} {
		s[int(v/w)] += 60000
	}
	s[n-1] += 2000
	return c, s, w
}

func heavyTail() (c []float64, w float64) {
	const n = entropyBins
	w = 40.0 / n
	c = make([]float64, n)
	for j := range c {
		x := (float64(j) + 0.5) * w
		c[j] = 1e6 * w * math.Pow(1+x*x/(3*0.25), -2)
	}
	return c, w
}

func TestEntropyAgainstReference(t *testing.T) {
	c, s, _ := relu6Like()
	plain := make([]float64, len(c))
	for j := range c {
		plain[j] = c[j] + s[j]
	}
	ht, _ := heavyTail()
	zero := make([]float64, len(c))
	tests := []struct {
		name   string
		c, s   []float64
		levels int
		want   int
	}{
		{"relu6 with point masses", c, s, 256, refReLU6Bins},
		{"relu6 plain TensorRT", plain, zero, 256, refReLU6PlainBins},
		{"heavy tail 128 levels", ht, zero, 128, refHeavyTail128},
		{"heavy tail 256 levels", ht, zero, 256, refHeavyTail256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, klSearch(tt.c, tt.s, tt.levels, entropyStart))
		})
	}
}

// The full path, from values to a range: a ReLU6 output whose background channels
// take constant values must keep (nearly) its whole range, which the plain algorithm
// cut to a sixth.
func TestEntropyKeepsReLU6WithConstantBackground(t *testing.T) {
	var vals []float32
	// 5 channels of 28x28 with a constant background (70 % of the pixels) and a
	// decaying foreground; a few saturated pixels.
	for ch, bg := range []float32{0.2, 0.35, 0.5, 0.65, 0.8} {
		for img := 0; img < 40; img++ {
			for p := 0; p < 784; p++ {
				if p%10 < 7 {
					vals = append(vals, bg)
					continue
				}
				u := float64((p*7919+img*104729+ch*1299709)%100003) / 100003
				v := float32(-0.5 * math.Log(1-u*0.9999))
				if p%97 == 0 {
					v = 6
				}
				vals = append(vals, min(v, 6))
			}
		}
	}
	h := newHistogram()
	require.NoError(t, h.add(vals))
	for _, m := range []Method{EntropySym, EntropyAsym} {
		r := searchRange(h, m, DefaultPercentile)
		assert.Equal(t, 0.0, r.lo, m.String())
		assert.Greater(t, r.hi, 5.5, "%s cut the ReLU6 range to [%g, %g]", m, r.lo, r.hi)
	}
	// The point masses were seen: at least the background values.
	assert.GreaterOrEqual(t, sum(h.reps), 0.69*float64(len(vals)))
}

func TestRebinEntropyConservesMass(t *testing.T) {
	c := []float64{3, 0, 5, 7, 1}
	reps := []float64{1, 0, 5, 0, 0}
	cont, spikes := rebinEntropy(c, reps, 0.25, 1.2, 8)
	assert.InDelta(t, 16-6, sum(cont), 1e-12)
	assert.InDelta(t, 6, sum(spikes), 1e-12)
	// Finer source bins land whole in one target bin when the grids nest.
	cont, spikes = rebinEntropy([]float64{1, 2, 3, 4}, []float64{0, 2, 0, 0}, 0.5, 2, 2)
	assert.Equal(t, []float64{1, 7}, cont)
	assert.Equal(t, []float64{2, 0}, spikes)
}

func TestHistogramPointMasses(t *testing.T) {
	h := newHistogram()
	require.NoError(t, h.add([]float32{1, 1, 1, 0, 2, 3, 3, 0, 0, 4}))
	require.NoError(t, h.add([]float32{4, 5}))
	assert.Equal(t, 5.0, sum(h.reps)) // the run of three 1s and the two 3s
	assert.Len(t, h.absReps(), len(h.abs()))
	assert.Len(t, h.sideReps(false), len(h.side(false)))
	for k := range h.bins {
		assert.LessOrEqual(t, h.reps[k], h.bins[k])
	}
}

// The legacy fixture still reproduces the reported failure on the ResNet's stem.
func TestLegacyEntropyFixture(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates the ResNet")
	}
	m := loadBundled(t, "fmnist_resnet")
	c := calibrate(t, m, EntropySym, 300)
	old := legacyEntropyRanges(c, true)
	now, err := c.ComputeRanges()
	require.NoError(t, err)
	const stem = "/stem_relu/Relu_output_0"
	t.Logf("stem ReLU: legacy %v, now %v", old[stem], now[stem])
	assert.Less(t, old[stem][1], float32(1.5))
	assert.Greater(t, now[stem][1], float32(5))
}
