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
		"--epochs", "2", "--lr", "0.002", "--seed", "1", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	var rep qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 256, rep.TrainImages)
	assert.Len(t, rep.EpochLog, 2)
	assert.Equal(t, 0.002, rep.LR)
	require.NotNil(t, rep.QATAccuracy)
	require.NotNil(t, rep.PTQAccuracy)
	assert.Greater(t, *rep.QATAccuracy, 0.8)
	q, err := graph.Load(out)
	require.NoError(t, err)
	assert.Equal(t, "QAT (PERCENTILE_ASYM init)", q.Metadata[quantizer.MetaMethod])
	code, stdout, stderr = runCLI("eval", out, "--data", testData, "--n", "300", "--json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"mode": "int8"`)

	// Bad input: nothing is written.
	bad := filepath.Join(dir, "bad.onnx")
	code, _, stderr = runCLI("qat", out, "--data", testData, "-o", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "already quantized")
	code, _, stderr = runCLI("qat", mlp, "--data", testData, "--optimizer", "lion", "-o", bad)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown optimizer")
	_, err = os.Stat(bad)
	assert.True(t, os.IsNotExist(err))
}
