package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --accuracy-budget on a model with a symbolic sequence length: the Warboy pricing
// of the float islands takes the sizes --input-shape gives (before: `pricing the
// float islands: npu: input "x": dimension 1 (seq) ... is symbolic; give it with
// --input-shape` although it was given), at batch 1 as the report says.
func TestQuantizeBudgetSymbolicShapes(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "seq6")
	require.NoError(t, os.MkdirAll(data, 0o755))
	for _, f := range []string{"seq0.npz", "seq1.npz", "seq3.npz"} { // the samples of 6 tokens
		b, err := os.ReadFile(filepath.Join(exportedDir, "npz_seq", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(data, f), b, 0o644))
	}
	model := filepath.Join(exportedDir, "transformer_opset13.onnx")
	out := filepath.Join(dir, "q.onnx")
	for _, shape := range []string{"x=1,6,64", "x=3,6,64"} {
		code, stdout, stderr := runCLI("quantize", model, "--calib-data", data, "--calib-n", "2", "--val-data", data, "--val-n", "3",
			"--batch", "1", "--accuracy-budget", "10", "--input-shape", shape, "-o", out, "--json")
		require.Equal(t, 0, code, stderr)
		var rep struct {
			Fallback struct {
				Met      bool    `json:"met"`
				Baseline float64 `json:"baseline_latency_us"`
			} `json:"fallback"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
		assert.True(t, rep.Fallback.Met, shape)
		assert.Greater(t, rep.Fallback.Baseline, 0.0, shape)
	}
	// Without the sizes the simulator still names the dimension instead of guessing.
	code, _, stderr := runCLI("quantize", model, "--calib-data", data, "--calib-n", "2", "--val-data", data, "--val-n", "3",
		"--batch", "1", "--accuracy-budget", "10", "-o", out)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "is symbolic; give it with --input-shape")
}
