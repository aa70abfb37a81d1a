package runtime

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// peakLive runs s on x and returns the largest number of activation bytes the run
// held at once (distinct buffers of the slots after each step, constants left
// out), plus x when the caller keeps it. It counts bytes, not time: the result is
// the same on any machine.
func peakLive(t *testing.T, s *Session, x *graph.Tensor, owned bool) int {
	peak := 0
	s.afterStep = func(vals []*graph.Tensor) {
		seen := map[memRange]bool{}
		live := 0
		if !owned {
			seen[rangeOf(x.Data)] = true
			live = 4 * x.Len()
		}
		for id, v := range vals {
			if v == nil || s.consts[id] != nil {
				continue
			}
			if r := rangeOf(v.Data); !seen[r] {
				seen[r] = true
				live += int(r.hi - r.lo)
			}
		}
		peak = max(peak, live)
	}
	defer func() { s.afterStep = nil }()
	in := map[string]*graph.Tensor{"images": x}
	var err error
	if owned {
		_, err = s.RunTensorsOwned(in)
	} else {
		_, err = s.RunTensors(in)
	}
	require.NoError(t, err)
	return peak
}

// The memory regression test of calibration at real resolutions (issue 14): a
// session that streams every float activation, channels-last where it can (what
// the calibrator builds), holds
// at most 1.2x the activation bytes the plain float executor holds for the same
// batch, because the elementwise chains the taps keep from being fused run in
// pieces over their input and the batch is handed over (0.82x here). Without the
// pieces the taps cost 1.41x here (three 16-channel tensors at 1/2 resolution at once).
func TestTapStreamingMemoryNearFloat(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "detector_opset13.onnx"))
	require.NoError(t, err)
	names := floatActivations(t, m)
	noop := func(string, *graph.Tensor) error { return nil }
	plain, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	pieces, err := NewSession(m, WithMode(ModeFloat), WithTaps(names...), WithTapFunc(noop),
		WithTapPieces(func(string, []float32, int, int) error { return nil }),
		WithTapChannelsLast(func(string, []float32, int, ChannelsLast) error { return nil }))
	require.NoError(t, err)
	whole, err := NewSession(m, WithMode(ModeFloat), WithTaps(names...), WithTapFunc(noop))
	require.NoError(t, err)
	for _, n := range []int{1, 4} {
		x := randF32(rand.New(rand.NewSource(int64(n))), n, 3, 160, 192)
		float := peakLive(t, plain, x, false)
		calib := peakLive(t, pieces, x.Clone(), true)
		unpieced := peakLive(t, whole, x.Clone(), true)
		t.Logf("batch %d: float %d bytes, streamed taps in pieces %d (%.2fx), whole %d (%.2fx)", n, float, calib,
			float64(calib)/float64(float), unpieced, float64(unpieced)/float64(float))
		assert.LessOrEqual(t, float64(calib), 1.2*float64(float), "batch %d", n)
		assert.Greater(t, float64(unpieced), 1.3*float64(float), "batch %d: the test no longer sees what the pieces save", n)
	}
}
