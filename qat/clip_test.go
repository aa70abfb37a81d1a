package qat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClipRange: an "ema-clip" range keeps its calibrated bounds while it measures
// the mean of clipRefSteps batches' min/max, then follows the moving min/max at the
// fractions the calibration chose of that mean (1 on a side whose mean extreme has the
// wrong sign).
func TestClipRange(t *testing.T) {
	for _, tc := range []struct {
		name           string
		lo, hi         float32 // calibrated
		blo, bhi       float32 // every reference batch's min/max
		nlo, nhi       float32 // the next batch's
		wantLo, wantHi float32 // after it, averaging constant 0.5
	}{
		{"clipped both sides", -1, 4, -2, 8, -4, 16, -1.5, 6},
		{"non-negative input", 0, 3, 0, 6, 0, 10, 0, 4},
		{"min above zero", 0.5, 3, 1, 3, 2, 3, 1.5, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &actRange{lo: tc.lo, hi: tc.hi, clip: true}
			for i := 0; i < clipRefSteps; i++ {
				r.clipRange(tc.blo, tc.bhi, 0.5)
				assert.Equal(t, [2]float32{tc.lo, tc.hi}, [2]float32{r.lo, r.hi}, "step %d keeps the calibrated range", i)
			}
			r.clipRange(tc.nlo, tc.nhi, 0.5)
			assert.InDelta(t, tc.wantLo, r.lo, 1e-6)
			assert.InDelta(t, tc.wantHi, r.hi, 1e-6)
		})
	}
}

// TestFitEMAClipRanges: on inputs far wider than the calibrated range, "ema" widens
// the range to the batches' max while "ema-clip" keeps it near the calibrated one;
// a run shorter than clipRefSteps keeps it exactly; both are deterministic.
func TestFitEMAClipRanges(t *testing.T) {
	run := func(mode string, n int) [2]float32 {
		net := gemmNet(t)
		_, err := net.Fit(constData{n, 0}, Options{Epochs: 1, Batch: 4, Ranges: mode, FreezeBNAfter: -1, FreezeRangesAfter: -1})
		require.NoError(t, err)
		return net.Ranges()["x"]
	}
	assert.Equal(t, [2]float32{-1, 1}, run("ema-clip", 40), "10 steps: the reference is still being measured")
	clip, ema := run("ema-clip", 2000), run("ema", 2000)
	assert.Equal(t, clip, run("ema-clip", 2000), "deterministic")
	assert.Greater(t, ema[1], float32(20), "ema follows the batches' max (inputs up to 200)")
	assert.InDelta(t, 1, clip[1], 0.5, "ema-clip keeps the calibrated fraction of it")
}
