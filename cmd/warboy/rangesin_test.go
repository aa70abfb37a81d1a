package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/quantizer"
)

// quantize --ranges-in with a partial file names each missing tensor once and says
// what to run on the command line (not a Go API).
func TestQuantizePartialRanges(t *testing.T) {
	dir := t.TempDir()
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	full := filepath.Join(dir, "full.json")
	code, _, stderr := runCLI("quantize", cnn, "--calib-data", testData, "--calib-n", "20", "-o", filepath.Join(dir, "q.onnx"), "--ranges-out", full)
	require.Equal(t, 0, code, stderr)
	r, err := quantizer.LoadRanges(full)
	require.NoError(t, err)
	require.Len(t, r, 11, "every float activation has a range, so the file serves any later --exclude")
	partial := filepath.Join(dir, "partial.json")
	part := quantizer.Ranges{}
	for _, n := range []string{"/flatten/Flatten_output_0", "/pool1/MaxPool_output_0", "/pool2/MaxPool_output_0"} {
		part[n] = r[n]
	}
	require.NoError(t, part.SaveRanges(partial))
	foreign := filepath.Join(dir, "foreign.json")
	require.NoError(t, os.WriteFile(foreign, []byte(`{"images": [0, 1]}`), 0o644))

	out := filepath.Join(dir, "out.onnx")
	code, stdout, stderr := runCLI("quantize", cnn, "--ranges-in", partial, "-o", out)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "warboy quantize: --ranges-in "+partial+" has no range for 5 of the 8 tensors to quantize: "+
		"/relu1/Relu_output_0, /relu2/Relu_output_0, /relu3/Relu_output_0, input, logits.\n")
	for _, n := range []string{"/relu1/Relu_output_0", "/relu2/Relu_output_0", "input, "} {
		assert.Equal(t, 1, strings.Count(stderr, n), "%q is named once", n)
	}
	assert.Contains(t, stderr, "\n  warboy quantize "+cnn+" --calib-data DIR -o "+out+" --ranges-out "+partial+"\n")
	assert.NotContains(t, stderr, "NewCalibrator")
	assert.NoFileExists(t, out)

	// Ranges of another model: say so; the advice keeps --exclude.
	code, stdout, stderr = runCLI("quantize", cnn, "--ranges-in", foreign, "-o", out, "--exclude", "/fc2/Gemm", "--json")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "none of its 1 names is a tensor quantized in "+cnn)
	assert.Contains(t, stderr, "--calib-data DIR -o "+out+" --exclude /fc2/Gemm --ranges-out "+foreign)
	var e errorJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &e))
	assert.Contains(t, e.Error, "has no range for")
	assert.NoFileExists(t, out)
}
