package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// TestQATFromQDQ: `qat` on a model already quantized in QDQ (or QOperator)
// form starts from that model: its weights, and its ranges for every activation
// it quantized (model_ranges), so the post-training start it reports is the
// model it was given, to the image; then trains and writes a QDQ model. A
// dynamically quantized model is refused (TestQATCommand).
func TestQATFromQDQ(t *testing.T) {
	dir := t.TempDir()
	mlp := filepath.Join(testModels, "fmnist_mlp.onnx")
	qdq := filepath.Join(dir, "qdq.onnx")
	code, _, stderr := runCLI("quantize", mlp, "--calib-data", testData, "--calib-n", "100", "--method", "PERCENTILE_ASYM", "-o", qdq)
	require.Equal(t, 0, code, stderr)
	code, stdout, stderr := runCLI("eval", qdq, "--data", testData, "--n", "300", "--json")
	require.Equal(t, 0, code, stderr)
	var given struct {
		Accuracy float64 `json:"accuracy"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &given))

	out := filepath.Join(dir, "qat.onnx")
	args := []string{"qat", qdq, "--data", testData, "--n", "256", "--calib-n", "50", "--eval-n", "300", "--batch", "32", "--lr", "0.003", "--threads", "1", "-o", out}
	code, stdout, stderr = runCLI(args...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "start: the quantized model's weights, and its ranges for 5 of the 5 activations quantized\n")

	code, stdout, stderr = runCLI(append(args, "--json")...)
	require.Equal(t, 0, code, stderr)
	var rep qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 5, rep.ModelRanges)
	require.NotNil(t, rep.PTQAccuracy)
	assert.Equal(t, given.Accuracy, *rep.PTQAccuracy, "the start is the model given")
	require.NotNil(t, rep.QATAccuracy)
	q, err := graph.Load(out)
	require.NoError(t, err)
	assert.True(t, q.Graph.IsQuantized())
	assert.Contains(t, q.Metadata[quantizer.MetaMethod], "the quantized model's ranges")

	// the QOperator form of the same model: the same start
	qop := filepath.Join(dir, "qop.onnx")
	code, _, stderr = runCLI("quantize", mlp, "--calib-data", testData, "--calib-n", "100", "--method", "PERCENTILE_ASYM", "--format", "qoperator", "-o", qop)
	require.Equal(t, 0, code, stderr)
	args[1] = qop
	code, stdout, stderr = runCLI(append(args, "--json")...)
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 11, rep.ModelRanges, "the Gemms written as 1x1 convolutions between Reshapes")
	require.NotNil(t, rep.PTQAccuracy)
	assert.Equal(t, given.Accuracy, *rep.PTQAccuracy)

	// a float model: no ranges from it
	code, stdout, stderr = runCLI("qat", mlp, "--data", testData, "--n", "64", "--calib-n", "32", "--eval-n", "-1", "--batch", "32", "--lr", "0.003", "--threads", "1", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep = qatReport{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Zero(t, rep.ModelRanges)
}
