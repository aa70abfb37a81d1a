package qat

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// TestFitDeterministic: the same seed and data give bit-identical weights and ranges;
// another seed gives different ones.
func TestFitDeterministic(t *testing.T) {
	train, err := dataset.Load("../testdata/fashion-mnist", "train")
	require.NoError(t, err)
	m, err := graph.Load("../testdata/models/fmnist_cnn.onnx")
	require.NoError(t, err)
	run := func(seed int64) (*Net, []EpochStats) {
		n := calibratedNet(t, m, train)
		st, err := n.Fit(dsData{train, 64}, Options{Batch: 16, Epochs: 2, FreezeBNAfter: 1, Seed: seed, Optimizer: "adamw"})
		require.NoError(t, err)
		return n, st
	}
	a, sa := run(7)
	b, sb := run(7)
	c, _ := run(8)
	require.Equal(t, sa[1].Loss, sb[1].Loss)
	require.Equal(t, a.Ranges(), b.Ranges())
	same := true
	for i, p := range a.Params() {
		require.Equal(t, p.W, b.Params()[i].W, p.Name)
		if !equalF32(p.W, c.Params()[i].W) {
			same = false
		}
	}
	require.False(t, same, "another seed shuffles differently")
}

func equalF32(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestFitErrors(t *testing.T) {
	m := tinyModel{[]int{4}, []*graph.Node{node("Gemm", []string{"x", "w"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w": graph.FromFloat32([]int{3, 4}, make([]float32, 12))}}.model()
	n, err := New(m, Config{})
	require.NoError(t, err)
	_, err = n.Fit(constData{4, 0}, Options{})
	require.ErrorContains(t, err, "has no range")
	require.ErrorContains(t, n.SetRanges(quantizer.Ranges{}), "no range for")
	require.NoError(t, n.SetRanges(quantizer.Ranges{"x": {-1, 1}, "y": {-1, 1}}))
	_, err = n.Fit(constData{4, 5}, Options{})
	require.ErrorContains(t, err, "label 5 outside the 3 classes")
	_, err = n.Fit(constData{0, 0}, Options{})
	require.ErrorContains(t, err, "no training data")
	_, err = n.Fit(constData{4, 0}, Options{Optimizer: "lion"})
	require.ErrorContains(t, err, "unknown optimizer")
	// A range calibrated as [0, 0] (an attention mask's 1 - mask on samples
	// without padding) is a range, not a missing one.
	require.NoError(t, n.SetRanges(quantizer.Ranges{"x": {-1, 1}, "y": {0, 0}}))
	_, err = n.Fit(constData{4, 0}, Options{})
	require.NoError(t, err)
}

// TestFitNonFiniteAtFirstStep: a loss that is not finite before any update is
// not a learning rate's divergence (which the CLI answers by trying the next
// rate): the error says what it is.
func TestFitNonFiniteAtFirstStep(t *testing.T) {
	m := tinyModel{[]int{4}, []*graph.Node{node("Log", []string{"x"}, "l"), node("Gemm", []string{"l", "w"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w": graph.FromFloat32([]int{3, 4}, make([]float32, 12))}}.model()
	n, err := New(m, Config{FloatOnly: true})
	require.NoError(t, err)
	_, err = n.Fit(constData{4, 0}, Options{}) // sample 0 holds 0: log 0 = -Inf
	require.ErrorContains(t, err, "at the first step, before any update")
	require.NotErrorIs(t, err, ErrDiverged)
}

// TestFitNonFiniteGradientAtFirstStep: a gradient that is not finite before any
// update (here acosh at 1, whose slope is infinite, under a weight row of zeros)
// is said as such, with the parameter's name, and is not a learning rate's
// divergence either; nothing is updated.
func TestFitNonFiniteGradientAtFirstStep(t *testing.T) {
	w1 := graph.FromFloat32([]int{2, 4}, []float32{0, 0, 0, 0, 0.5, -0.5, 0.25, 0.1})
	m := tinyModel{[]int{4}, []*graph.Node{
		node("Gemm", []string{"x", "w1"}, "h", intAttr("transB", 1)),
		node("Abs", []string{"h"}, "a0"),
		node("Add", []string{"a0", "one"}, "a"),
		node("Acosh", []string{"a"}, "r"),
		node("Gemm", []string{"r", "w2"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w1": w1, "w2": graph.FromFloat32([]int{3, 2}, []float32{1, 0.5, -1, 0.2, 0.3, -0.7}), "one": graph.ScalarFloat32(1)}}.model()
	n, err := New(m, Config{FloatOnly: true})
	require.NoError(t, err)
	_, err = n.Fit(constData{4, 0}, Options{Batch: 4})
	require.ErrorContains(t, err, "the gradient of w1 is not finite at the first step, before any update")
	require.NotErrorIs(t, err, ErrDiverged)
	require.Equal(t, w1.F32(), n.Params()[0].W, "no update")
}

type constData struct{ n, label int }

func (d constData) Len() int { return d.n }
func (d constData) Sample(i int, dst []float32) (int, error) {
	for j := range dst {
		dst[j] = float32(i+j) / 10
	}
	return d.label, nil
}

// TestFitCPUSeconds: an epoch's CPUSeconds is the CPU clock's advance over its
// training steps, without the checkpoints scored in the epoch (a counting clock
// stands in for the process's).
func TestFitCPUSeconds(t *testing.T) {
	m := tinyModel{[]int{4}, []*graph.Node{node("Gemm", []string{"x", "w"}, "y", intAttr("transB", 1))},
		map[string]*graph.Tensor{"w": graph.FromFloat32([]int{3, 4}, make([]float32, 12))}}.model()
	n, err := New(m, Config{})
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(quantizer.Ranges{"x": {-1, 1}, "y": {-1, 1}}))
	var clock float64
	saved := cpuClock
	cpuClock = func() (float64, bool) { return clock, true }
	defer func() { cpuClock = saved }()
	var ckpts int
	st, err := n.Fit(constData{10, 1}, Options{Batch: 4, Epochs: 2, CheckpointsPerEpoch: 2,
		Progress:   func(ep, done, total int, loss, acc float64) { clock++ },      // a step costs 1
		Checkpoint: func(at float64) error { ckpts++; clock += 100; return nil }}) // a checkpoint 100
	require.NoError(t, err)
	require.Equal(t, 5, ckpts, "the start and two per epoch")
	require.Len(t, st, 2)
	for _, s := range st {
		require.Equal(t, 3.0, s.CPUSeconds, "epoch %d: 3 steps of 4, 4 and 2 images", s.Epoch)
	}
	cpuClock = func() (float64, bool) { return 0, false }
	st, err = n.Fit(constData{10, 1}, Options{Batch: 4})
	require.NoError(t, err)
	require.Zero(t, st[0].CPUSeconds, "no clock: left out")
}
