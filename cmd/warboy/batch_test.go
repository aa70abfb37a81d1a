package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// staticBatchModel writes the bundled CNN with its batch dimension fixed to b, the way
// torch.onnx exports a model by default ([1,1,28,28] instead of [N,1,28,28]).
func staticBatchModel(t *testing.T, b int) string {
	t.Helper()
	m, err := graph.Load(filepath.Join(testModels, "fmnist_cnn.onnx"))
	require.NoError(t, err)
	m.Graph.Inputs[0].Shape[0] = graph.Dim{Size: b}
	p := filepath.Join(t.TempDir(), "cnn_static.onnx")
	require.NoError(t, m.Save(p))
	return p
}

// Every command that calibrates or compares in batches follows the model's batch: a
// static batch of 1 is fed one image at a time whatever --batch says (the commands
// used to fail with "got shape [50,1,28,28], model expects [1,1,28,28]").
func TestStaticBatchCalibration(t *testing.T) {
	b1 := staticBatchModel(t, 1)
	dir := t.TempDir()
	q := filepath.Join(dir, "q.onnx")
	code, stdout, stderr := runCLI("quantize", b1, "-o", q, "--calib-data", testData, "--calib-n", "40", "--batch", "16")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "on 40 images")
	assert.FileExists(t, q)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"compare", []string{"compare", b1, q, "--data", testData, "--n", "20", "--batch", "8"}, "top-1 agreement"},
		{"sim", []string{"sim", b1, "--data", testData, "--calib", "10"}, "calibration on 10 samples"},
		{"bench cpu", []string{"bench", "cpu", b1, "--calib-data", testData, "--calib-n", "10", "--iterations", "1", "--warmup", "0"}, "calibrated on 10 samples"},
		{"bench", []string{"bench", b1, "--data", testData, "--methods", "MIN_MAX_ASYM", "--calib-n", "10", "--n", "20",
			"--compare-n", "5", "--iterations", "1"}, "MIN_MAX_ASYM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, tt.want)
			assert.NotContains(t, stderr, "got shape")
		})
	}

	// A static batch of 2: the calibration set is cut to whole batches, with a warning;
	// fewer images than one batch is an error naming the batch.
	b2 := staticBatchModel(t, 2)
	code, stdout, stderr = runCLI("quantize", b2, "-o", q, "--calib-data", testData, "--calib-n", "5")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "the model has a static batch of 2: calibrating on 4 of the 5 samples")
	assert.Contains(t, stdout, "on 4 images")
	code, _, stderr = runCLI("quantize", b2, "-o", filepath.Join(dir, "none.onnx"), "--calib-data", testData, "--calib-n", "1")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `static batch of 2 (input "input" is [2,1,28,28]) but there are only 1 samples`)
	assert.NoFileExists(t, filepath.Join(dir, "none.onnx"))
}
