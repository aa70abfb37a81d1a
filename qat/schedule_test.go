package qat

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

func TestSchedule(t *testing.T) {
	s := newSchedule(Options{LR: 0.1, Warmup: 0.1}, 100)
	require.Equal(t, 10, s.warm)
	// Linear warmup: 0.1/11, 0.2/11, ... up to the peak at step 10.
	for i := 0; i < 10; i++ {
		assert.InDelta(t, 0.1*float64(i+1)/11, s.lr(i), 1e-12, "step %d", i)
	}
	assert.InDelta(t, 0.1, s.lr(10), 1e-12)
	prev := s.lr(10)
	for i := 11; i < 100; i++ { // cosine decay, strictly falling, toward 0
		require.Less(t, s.lr(i), prev, "step %d", i)
		prev = s.lr(i)
	}
	assert.Less(t, s.lr(99), 1e-3*0.1)
	// No warmup: the cosine of the schedule before warmup existed.
	s = newSchedule(Options{LR: 0.1}, 50)
	for _, i := range []int{0, 7, 49} {
		assert.InDelta(t, 0.1*0.5*(1+math.Cos(math.Pi*float64(i)/50)), s.lr(i), 1e-12)
	}
	s = newSchedule(Options{LR: 0.1, Warmup: 0.5, Schedule: "constant"}, 10)
	assert.InDelta(t, 0.1/6, s.lr(0), 1e-12)
	assert.Equal(t, 0.1, s.lr(9))

	_, err := Options{Warmup: 1}.WithDefaults()
	require.ErrorContains(t, err, "warmup")
	_, err = Options{Warmup: -0.1}.WithDefaults()
	require.ErrorContains(t, err, "warmup")
}

func TestAtStep(t *testing.T) {
	for _, c := range []struct {
		epochs float64
		steps  int
		want   int
	}{{-1, 10, -1}, {0, 10, 0}, {0.5, 10, 5}, {0.75, 938, 704}, {1, 938, 938}, {1.5, 10, 15}} {
		assert.Equal(t, c.want, atStep(c.epochs, c.steps), "%v epochs of %d steps", c.epochs, c.steps)
	}
}

// gemmNet is a 4 -> 3 Gemm with calibrated ranges.
func gemmNet(t *testing.T) *Net {
	w := make([]float32, 12)
	for i := range w {
		w[i] = float32(i%5-2) / 4
	}
	m := tinyModel{[]int{4}, []*graph.Node{node("Gemm", []string{"x", "w"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w": graph.FromFloat32([]int{3, 4}, w)}}.model()
	n, err := New(m, Config{})
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(quantizer.Ranges{"x": {-1, 1}, "y": {-1, 1}}))
	return n
}

// TestFitCheckpoints: Checkpoint runs before training and CheckpointsPerEpoch times
// per epoch, the last after the epoch's last step; its error stops training.
func TestFitCheckpoints(t *testing.T) {
	n := gemmNet(t)
	var at []float64
	var weights [][]float32
	opts := Options{Epochs: 2, Batch: 2, CheckpointsPerEpoch: 2, Checkpoint: func(e float64) error {
		at = append(at, e)
		weights = append(weights, append([]float32(nil), n.Params()[0].W...))
		return nil
	}}
	_, err := n.Fit(constData{10, 1}, opts) // 5 steps an epoch: checkpoints after steps 3 and 5
	require.NoError(t, err)
	assert.Equal(t, []float64{0, 0.6, 1, 1.6, 2}, at)
	assert.NotEqual(t, weights[0], weights[1], "the weights move between checkpoints")
	assert.Equal(t, weights[4], n.Params()[0].W, "the last checkpoint sees the final weights")

	stop := errors.New("disk full")
	opts.Checkpoint = func(e float64) error {
		if e > 0 {
			return stop
		}
		return nil
	}
	_, err = gemmNet(t).Fit(constData{10, 1}, opts)
	require.ErrorIs(t, err, stop)
	require.ErrorContains(t, err, "checkpoint at epoch 0.60")
}

// TestFreezeRanges: EMA ranges move until FreezeRangesAfter and stay put after it.
func TestFreezeRanges(t *testing.T) {
	run := func(freeze float64, epochs int) quantizer.Ranges {
		n := gemmNet(t)
		_, err := n.Fit(constData{40, 0}, Options{Epochs: epochs, Batch: 4, FreezeRangesAfter: freeze, FreezeBNAfter: -1, Schedule: "constant"})
		require.NoError(t, err)
		return n.Ranges()
	}
	start := quantizer.Ranges{"x": {-1, 1}, "y": {-1, 1}}
	assert.Equal(t, start, run(0, 1), "frozen from the start")
	moving := run(-1, 1)
	assert.NotEqual(t, start["x"], moving["x"])
	// Frozen after the first epoch: the second epoch leaves the ranges where the
	// first one put them.
	assert.Equal(t, moving, run(1, 2))
	assert.NotEqual(t, moving, run(-1, 2))
}

// TestDefaultOptions: the recommended options are complete (WithDefaults changes
// nothing) and freeze neither BatchNorm nor the ranges, unlike the zero Options.
func TestDefaultOptions(t *testing.T) {
	d := DefaultOptions()
	filled, err := d.WithDefaults()
	require.NoError(t, err)
	require.Equal(t, "sgd", filled.Optimizer)
	require.Equal(t, 0.01, filled.LR)
	d.LR = filled.LR // the learning rate is the one default that depends on the optimizer
	require.Equal(t, d, filled)
	require.Less(t, d.FreezeBNAfter, 0.0)
	require.Less(t, d.FreezeRangesAfter, 0.0)
	zero, err := Options{}.WithDefaults()
	require.NoError(t, err)
	require.Equal(t, 0.0, zero.FreezeBNAfter, "the zero Options freeze BatchNorm from the start")
}
