package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

func TestQATCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "mlp_qat.onnx")
	mlp := filepath.Join(testModels, "fmnist_mlp.onnx")
	code, stdout, stderr := runCLI("qat", mlp, "--data", testData, "--n", "256", "--calib-n", "100", "--eval-n", "300",
		"--epochs", "2", "--lr", "0.002", "--seed", "1", "--val-n", "5000", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	var rep qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Len(t, rep.EpochLog, 2)
	assert.Equal(t, 0.002, rep.LR)
	require.NotNil(t, rep.QATAccuracy)
	require.NotNil(t, rep.PTQAccuracy)
	assert.Greater(t, *rep.QATAccuracy, 0.8)
	q, err := graph.Load(out)
	require.NoError(t, err)
	assert.Equal(t, "QAT ("+rep.Method+" init)", q.Metadata[quantizer.MetaMethod])
	// The defaults: no freezing, no warmup, all images trained on.
	assert.Equal(t, []float64{-1, -1, 0}, []float64{rep.FreezeBNAfter, rep.FreezeRanges, rep.Warmup})
	// --method auto (the default) picked a method; with --val-n 5000, a tenth of the
	// 256 images (25) are held back;
	// the post-training start and 4 checkpoints per epoch are scored, the best written.
	_, err = quantizer.ParseMethod(rep.Method)
	require.NoError(t, err)
	assert.Equal(t, 25, rep.ValImages)
	assert.Equal(t, 231, rep.TrainImages)
	require.Len(t, rep.Checkpoints, 9)
	require.NotNil(t, rep.ChosenEpochs)
	assert.Equal(t, 0.0, rep.Checkpoints[0].Epochs)
	assert.Equal(t, 2.0, rep.Checkpoints[8].Epochs)
	// The chosen checkpoint is the last of the trained ones with the best validation
	// accuracy, or the start when that one is more than --start-margin (1 point) below.
	last := 1
	for i, c := range rep.Checkpoints[1:] {
		if *c.Accuracy >= *rep.Checkpoints[last].Accuracy {
			last = i + 1
		}
	}
	if *rep.Checkpoints[last].Accuracy < *rep.Checkpoints[0].Accuracy-0.01 {
		last = 0
	}
	for i, c := range rep.Checkpoints {
		assert.Equal(t, i == last, c.Chosen, "checkpoint %d", i)
	}
	assert.Equal(t, rep.Checkpoints[last].Epochs, *rep.ChosenEpochs)
	code, stdout, stderr = runCLI("eval", out, "--data", testData, "--n", "300", "--json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"mode": "int8"`)

	// A fixed method and no validation split: the last weights are written.
	code, stdout, stderr = runCLI("qat", mlp, "--data", testData, "--n", "128", "--calib-n", "50", "--eval-n", "-1",
		"--method", "PERCENTILE_ASYM", "--val-n", "0", "--batch", "32", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 128, rep.TrainImages)
	assert.Equal(t, 0, rep.ValImages)
	assert.Equal(t, "training images 50-127, also trained on", rep.CheckSet)
	// Only the start and the end are scored (on training images); the end is written
	// unless it fell more than --start-margin below the start.
	require.Len(t, rep.Checkpoints, 2)
	assert.Equal(t, []float64{0, 1}, []float64{rep.Checkpoints[0].Epochs, rep.Checkpoints[1].Epochs})
	want := 1
	if *rep.Checkpoints[1].Accuracy < *rep.Checkpoints[0].Accuracy-0.01 {
		want = 0
	}
	assert.True(t, rep.Checkpoints[want].Chosen)
	require.NotNil(t, rep.ChosenEpochs)
	assert.Equal(t, float64(want), *rep.ChosenEpochs)
	q, err = graph.Load(out)
	require.NoError(t, err)
	assert.Equal(t, "QAT (PERCENTILE_ASYM init)", q.Metadata[quantizer.MetaMethod])

	// --method auto with no held-back images (the default) scores the methods on the
	// training images after the calibration ones.
	code, stdout, stderr = runCLI("qat", mlp, "--data", testData, "--n", "160", "--calib-n", "50", "--eval-n", "-1",
		"--batch", "32", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	_, err = quantizer.ParseMethod(rep.Method)
	require.NoError(t, err)
	assert.Equal(t, 160, rep.TrainImages)
	assert.Equal(t, "training images 50-159, also trained on", rep.CheckSet)
	require.Len(t, rep.Checkpoints, 2)

	// Weight averaging, re-estimation and distillation on a model with Conv+BatchNorm.
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	code, stdout, stderr = runCLI("qat", cnn, "--data", testData, "--n", "96", "--calib-n", "32", "--eval-n", "-1",
		"--method", "MIN_MAX_ASYM", "--batch", "32", "--average", "0.5", "--reestimate", "2", "--distill", "0.5", "--temperature", "2",
		"-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, []float64{0.5, 2, 0.5, 2}, []float64{rep.Average, float64(rep.Reestimate), rep.Distill, rep.Temperature})
	_, err = graph.Load(out)
	require.NoError(t, err)

	// Bad input: nothing is written.
	bad := filepath.Join(dir, "bad.onnx")
	for _, f := range [][]string{{"--average", "1.5"}, {"--reestimate", "-1"}, {"--distill", "2"}, {"--temperature", "-1"}, {"--label-smoothing", "1"}, {"--label-smoothing", "0.1", "--distill", "0.5"}} {
		code, _, stderr = runCLI(append([]string{"qat", mlp, "--data", testData, "-o", bad}, f...)...)
		assert.Equal(t, 2, code, "%v: %s", f, stderr)
	}
	dyn := filepath.Join(dir, "dyn.onnx")
	code, _, stderr = runCLI("quantize", mlp, "--dynamic", "-o", dyn)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCLI("qat", dyn, "--data", testData, "-o", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "qat starts from a float model or one quantized in QDQ or QOperator form")
	assert.Contains(t, stderr, "dynamic quantization")
	code, _, stderr = runCLI("qat", mlp, "--data", testData, "--optimizer", "lion", "-o", bad)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown optimizer")
	code, _, stderr = runCLI("qat", mlp, "--data", testData, "--freeze-bn-after", "-0.5", "-o", bad)
	assert.Equal(t, 2, code)
	code, _, stderr = runCLI("qat", mlp, "--data", testData, "--warmup", "1", "-o", bad)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "warmup")
	_, err = os.Stat(bad)
	assert.True(t, os.IsNotExist(err))
}

// TestCheckpointPicker: the best trained checkpoint (a later one wins a tie) unless it
// is more than the margin below the post-training start.
func TestCheckpointPicker(t *testing.T) {
	for _, c := range []struct {
		acc  []float64
		last bool
		want int
	}{
		{[]float64{0.90, 0.91, 0.92, 0.92}, false, 3},
		{[]float64{0.95, 0.93, 0.945, 0.94}, false, 2}, // 0.5 point below the start: within the margin
		{[]float64{0.95, 0.90, 0.92, 0.935}, false, 0}, // 1.5 points below: training went wrong
		{[]float64{0.95}, false, 0},
		// last: the last trained checkpoint, whatever the earlier ones scored.
		{[]float64{0.90, 0.93, 0.92}, true, 2},
		{[]float64{0.95, 0.945}, true, 1},
		{[]float64{0.95, 0.935}, true, 0},
	} {
		p := &checkpointPicker{margin: 0.01, last: c.last}
		for i, a := range c.acc {
			p.add(float64(i), quantizer.Score{Accuracy: a, Labelled: true}, &graph.Model{Metadata: map[string]string{"i": string(rune('0' + i))}})
		}
		q, scored, at := p.result()
		assert.Equal(t, float64(c.want), at, "%v", c.acc)
		assert.Equal(t, string(rune('0'+c.want)), q.Metadata["i"])
		assert.True(t, scored[c.want].Chosen)
	}
	// The outputs loss ranks by closeness to the float model (top-1 agreement for
	// class scores, then the output SQNR) and writes the start whenever it ranks
	// above the best trained checkpoint: no margin.
	for _, c := range []struct {
		agree []float64 // nil: not class scores
		sqnr  []float64
		want  int
	}{
		{nil, []float64{20, 23, 25, 24}, 2},
		{nil, []float64{20, 22, 22}, 2},
		{nil, []float64{20, 19.9, 19.5}, 0},
		{[]float64{0.95, 0.96, 0.96}, []float64{30, 28, 31}, 2},
		{[]float64{0.95, 0.97, 0.96}, []float64{30, 28, 31}, 1},
		{[]float64{0.96, 0.96}, []float64{30, 29}, 0},
	} {
		p := &checkpointPicker{margin: 0.01, rank: ranker{vsFloat: true}}
		for i, db := range c.sqnr {
			sc := quantizer.Score{SQNR: quantizer.DB(db), Samples: 100}
			if c.agree != nil {
				sc.Classes, sc.Agreement = true, c.agree[i]
			}
			p.add(float64(i), sc, &graph.Model{Metadata: map[string]string{"i": string(rune('0' + i))}})
		}
		q, scored, at := p.result()
		assert.Equal(t, float64(c.want), at, "%v %v", c.agree, c.sqnr)
		assert.Equal(t, string(rune('0'+c.want)), q.Metadata["i"])
		assert.True(t, scored[c.want].Chosen)
		assert.Nil(t, scored[c.want].Accuracy, "no labels, no accuracy")
	}
}

// TestCheckSlice: with no images held back, the methods and the start check are scored
// on the training images after the calibration ones (at most 1000).
func TestCheckSlice(t *testing.T) {
	for _, c := range []struct{ pool, calib, from, n int }{
		{60000, 1000, 1000, 1000},
		{1500, 1000, 1000, 500},
		{160, 50, 50, 110},
		{100, 100, 0, 100}, // every image calibrates: the first ones
		{5000, 8000, 0, 1000},
	} {
		from, n := checkSlice(c.pool, c.calib)
		assert.Equal(t, []int{c.from, c.n}, []int{from, n}, "pool %d calib %d", c.pool, c.calib)
	}
}
