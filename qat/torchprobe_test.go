package qat

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// TestTorchStepProbe writes what a step-by-step comparison with PyTorch's eager QAT
// needs (docs/quantizer.md, "Step-by-step comparison with PyTorch"): the training
// order, the initial activation ranges (PERCENTILE_ASYM on the first 1,000 images) and
// the loss of every step of one epoch on the first QAT_PROBE_N training images with
// PyTorch's recipe (no warmup, BatchNorm and ranges never frozen, the last weights).
// scripts/qat_reference.py --order F --init-ranges F --weight-grid tflite replays it.
// It runs only when QAT_PROBE_OUT names a directory (it needs the full Fashion-MNIST
// training set in QAT_PROBE_DATA and a model in QAT_PROBE_MODEL).
func TestTorchStepProbe(t *testing.T) {
	out := os.Getenv("QAT_PROBE_OUT")
	if out == "" {
		t.Skip("QAT_PROBE_OUT not set")
	}
	nImg, err := strconv.Atoi(os.Getenv("QAT_PROBE_N"))
	require.NoError(t, err, "QAT_PROBE_N")
	train, err := dataset.Load(os.Getenv("QAT_PROBE_DATA"), "train")
	require.NoError(t, err)
	require.LessOrEqual(t, nImg, len(train.Labels))
	m, err := graph.Load(os.Getenv("QAT_PROBE_MODEL"))
	require.NoError(t, err)
	n, err := New(m, Config{Threads: 1})
	require.NoError(t, err)
	feed, err := dataset.NewFeed(train, n.Plan().Model.Graph.Inputs, 1000)
	require.NoError(t, err)
	cal, err := quantizer.Calibrate(m, quantizer.PercentileAsym, feed, quantizer.CalibOptions{})
	require.NoError(t, err)
	r, err := cal.ComputeRanges()
	require.NoError(t, err)
	require.NoError(t, n.SetRanges(r))
	init := n.Ranges()
	const batch, seed = 64, 0
	var losses []float64
	var prev float64
	_, err = n.Fit(dsData{train, nImg}, Options{Epochs: 1, Batch: batch, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: seed,
		Progress: func(_, done, _ int, loss, _ float64) {
			// Progress reports the running mean: recover the step's own loss.
			b := min(batch, done-batch*len(losses))
			losses = append(losses, (loss*float64(done)-prev)/float64(b))
			prev = loss * float64(done)
		}})
	require.NoError(t, err)
	// Fit shuffles the first epoch with rand.New(rand.NewSource(seed)).Perm(N).
	res := map[string]any{"order": rand.New(rand.NewSource(seed)).Perm(nImg), "ranges": init, "step_losses": losses,
		"final_ranges": n.Ranges()}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(out, "go_probe.json"), b, 0o644))
}
