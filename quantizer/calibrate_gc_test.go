package quantizer

import (
	"math"
	"math/rand"
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// gcSettings reads the collector's target and memory limit without changing them.
func gcSettings() (pct int, limit int64) {
	pct = debug.SetGCPercent(100)
	debug.SetGCPercent(pct)
	return pct, debug.SetMemoryLimit(-1)
}

// Calibrate runs its first batch with the tight target, the others with the
// collector off under a memory limit taken from the first batch's peak, and
// restores the caller's settings; a user's GOGC or GOMEMLIMIT is left alone.
func TestCalibrateCollectorSettings(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set: Calibrate leaves the collector alone")
	}
	rng := rand.New(rand.NewSource(13))
	var xs []*graph.Tensor
	for i := 0; i < 3; i++ {
		xs = append(xs, randTensor(rng, []int{1, 2, 6, 6}, 1))
	}
	pct0, lim0 := gcSettings()
	var pcts []int
	var lims []int64
	_, err := Calibrate(fixBatch(smallCNN(rng), 1), MinMaxAsym, sliceBatches{xs}, CalibOptions{Progress: func(int, int) {
		p, l := gcSettings()
		pcts, lims = append(pcts, p), append(lims, l)
	}})
	require.NoError(t, err)
	require.Len(t, pcts, 3)
	if pct0 >= calibGCPercent {
		assert.Equal(t, calibGCPercent, pcts[0], "first batch: the tight target")
		assert.Equal(t, lim0, lims[0], "first batch: the caller's limit")
		for b := 1; b < 3; b++ {
			assert.Equal(t, -1, pcts[b], "batch %d: collector driven by the limit", b+1)
			assert.Less(t, lims[b], lim0, "batch %d: a limit is set", b+1)
			assert.Greater(t, lims[b], int64(1<<20), "batch %d: the limit covers the measured need", b+1)
		}
	}
	pct, lim := gcSettings()
	assert.Equal(t, pct0, pct, "target restored")
	assert.Equal(t, lim0, lim, "limit restored")
}

// A batch that needs more memory than the limit raises it at the next sample
// instead of leaving the collector to run back to back.
func TestCalibrateCollectorLimitRaised(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set: Calibrate leaves the collector alone")
	}
	pct0, lim0 := gcSettings()
	if pct0 < calibGCPercent {
		t.Skipf("GOGC=%d is tighter than the calibration target", pct0)
	}
	gc := startCalibGC()
	require.NotNil(t, gc)
	gc.sample()
	calibGC.Lock()
	calibGC.peak = 1 << 10 // pretend the first batch needed 1 KiB
	calibGC.Unlock()
	gc.afterBatch()
	_, lim := gcSettings()
	assert.Equal(t, int64(math.Round((1<<10)*(1+calibMemHeadroom))), lim)
	gc.sample() // the runtime holds far more than 1 KiB
	_, raised := gcSettings()
	assert.Greater(t, raised, int64(1<<20))
	gc.stop()
	pct, lim := gcSettings()
	assert.Equal(t, pct0, pct)
	assert.Equal(t, lim0, lim)
}
