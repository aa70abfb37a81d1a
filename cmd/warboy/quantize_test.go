package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

var (
	testModels = filepath.Join("..", "..", "testdata", "models")
	testData   = filepath.Join("..", "..", "testdata", "fashion-mnist")
)

// writeIDX writes an IDX image file (and labels) of n black h x w images into dir.
func writeIDX(t *testing.T, dir, split string, n, h, w int) {
	t.Helper()
	writeIDXPixels(t, dir, split, n, h, w, make([]byte, n*h*w))
}

// writeIDXPixels writes n h x w images with the given pixels (and zero labels).
func writeIDXPixels(t *testing.T, dir, split string, n, h, w int, pixels []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, 3})
	for _, d := range []uint32{uint32(n), uint32(h), uint32(w)} {
		require.NoError(t, binary.Write(&b, binary.BigEndian, d))
	}
	b.Write(pixels)
	require.NoError(t, os.WriteFile(filepath.Join(dir, split+"-images-idx3-ubyte"), b.Bytes(), 0o644))
	var l bytes.Buffer
	l.Write([]byte{0, 0, 8, 1})
	require.NoError(t, binary.Write(&l, binary.BigEndian, uint32(n)))
	l.Write(make([]byte, n))
	require.NoError(t, os.WriteFile(filepath.Join(dir, split+"-labels-idx1-ubyte"), l.Bytes(), 0o644))
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestQuantizeCommand(t *testing.T) {
	dir := t.TempDir()
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	out := filepath.Join(dir, "cnn_int8.onnx")
	ranges := filepath.Join(dir, "ranges.json")
	code, stdout, stderr := runCLI("quantize", cnn, "--calib-data", testData, "--calib-n", "200", "--method", "entropy_sym",
		"-o", out, "--ranges-out", ranges, "-v")
	require.Equal(t, 0, code, stderr)
	for _, s := range []string{"ENTROPY_SYM on 200 images", "4 weights int8 per channel", "4 biases int32", "/relu1/Relu_output_0", "observed", "= /relu1/Relu_output_0"} {
		assert.Contains(t, stdout, s)
	}
	q, err := graph.Load(out)
	require.NoError(t, err)
	assert.Equal(t, "ENTROPY_SYM", q.Metadata[quantizer.MetaMethod])
	assert.Equal(t, "200", q.Metadata[quantizer.MetaSamples])
	r, err := quantizer.LoadRanges(ranges)
	require.NoError(t, err)
	assert.Contains(t, r, "logits")

	// Quantize again from the saved ranges, in the QOperator form, as JSON.
	out2 := filepath.Join(dir, "cnn_qop.onnx")
	code, stdout, stderr = runCLI("quantize", cnn, "--ranges-in", ranges, "--format", "qoperator", "-o", out2, "--json")
	require.Equal(t, 0, code, stderr)
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, "qoperator", rep["format"])
	assert.Equal(t, ranges, rep["ranges_in"])

	// Dynamic quantization needs no calibration data.
	out3 := filepath.Join(dir, "mlp_dyn.onnx")
	code, stdout, stderr = runCLI("quantize", filepath.Join(testModels, "fmnist_mlp.onnx"), "--dynamic", "-o", out3)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "dynamic")

	// The editor and the per-layer report on the result.
	edited := filepath.Join(dir, "cnn_u8.onnx")
	code, stdout, stderr = runCLI("edit", out, "--input-type", "uint8", "--output-type", "int8", "-o", edited)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `input "input": raw uint8, scale 0.003921569, zero point 0`)
	assert.Contains(t, stdout, `output "logits": raw int8`)
	e, err := graph.Load(edited)
	require.NoError(t, err)
	assert.Equal(t, graph.Uint8, e.Graph.Inputs[0].DType)
	assert.Equal(t, graph.Int8, e.Graph.Outputs[0].DType)
	assert.Equal(t, "uint8", e.Metadata["warboy.input.input.dtype"])

	code, stdout, stderr = runCLI("compare", cnn, out, "--data", testData, "--n", "200", "--top", "3")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "8 quantized tensors, worst first")
	assert.Contains(t, stdout, "top-1 agreement on logits")
	assert.Contains(t, stdout, "| 3 |")
	assert.NotContains(t, stdout, "| 4 |")
	code, stdout, stderr = runCLI("compare", cnn, edited, "--data", testData, "--n", "100", "--json", "--mode", "float32")
	require.Equal(t, 0, code, stderr)
	var cmp map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &cmp))
	assert.Len(t, cmp["layers"], 8)
}

// Bad input: a clear error (exit status 1, or 2 for a usage error) and nothing written.
func TestQuantizeCommandBadInput(t *testing.T) {
	dir := t.TempDir()
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	quantized := filepath.Join(dir, "already.onnx")
	code, _, stderr := runCLI("quantize", cnn, "--calib-data", testData, "--calib-n", "100", "-o", quantized)
	require.Equal(t, 0, code, stderr)

	emptyDir := t.TempDir()
	zeroDir := t.TempDir()
	writeIDX(t, zeroDir, "train", 0, 28, 28)
	smallDir := t.TempDir()
	writeIDX(t, smallDir, "train", 10, 14, 14)
	badRanges := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(badRanges, []byte(`{"input": [1, 0]}`), 0o644))

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"already quantized", []string{quantized, "--calib-data", testData}, 1, "already quantized"},
		{"calib-n 0", []string{cnn, "--calib-data", testData, "--calib-n", "0"}, 2, "calibration set is empty"},
		{"empty directory", []string{cnn, "--calib-data", emptyDir}, 1, "no train-images-idx3-ubyte"},
		{"zero images", []string{cnn, "--calib-data", zeroDir}, 1, "is empty"},
		{"wrong image shape", []string{cnn, "--calib-data", smallDir}, 1, "1x14x14"},
		{"unknown method", []string{cnn, "--method", "KL_DIVERGENCE"}, 2, "unknown calibration method"},
		{"method without suffix", []string{cnn, "--method", "entropy"}, 2, "needs a suffix"},
		{"bad percentile", []string{cnn, "--percentile", "0"}, 2, "--percentile"},
		{"bad format", []string{cnn, "--format", "tflite"}, 2, "unknown format"},
		{"bad ranges file", []string{cnn, "--ranges-in", badRanges}, 1, "min > max"},
		{"dynamic with calibration flags", []string{cnn, "--dynamic", "--method", "MSE_SYM"}, 2, "does not apply"},
		{"missing model", []string{filepath.Join(dir, "nope.onnx"), "--calib-data", testData}, 1, "no such file"},
		{"excluded node unknown", []string{cnn, "--calib-data", testData, "--calib-n", "10", "--exclude", "nope"}, 1, `"nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.onnx")
			rng := filepath.Join(dir, "out.json")
			args := append([]string{"quantize"}, tt.args...)
			args = append(args, "-o", out, "--ranges-out", rng)
			if tt.name == "dynamic with calibration flags" {
				args = args[:len(args)-2]
			}
			code, _, stderr := runCLI(args...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.want)
			assert.NoFileExists(t, out, "nothing is written on error")
			assert.NoFileExists(t, rng, "nothing is written on error")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				assert.NotContains(t, e.Name(), ".tmp", "no temporary file left behind")
			}
		})
	}
	code, _, stderr = runCLI("quantize", cnn)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-o OUT.onnx is required")
}

func TestEditAndCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	out := filepath.Join(dir, "out.onnx")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"edit float model", []string{"edit", cnn, "--input-type", "uint8", "-o", out}, 1, "the editor works on quantized models"},
		{"edit nothing to do", []string{"edit", cnn, "-o", out}, 2, "nothing to do"},
		{"edit bad type", []string{"edit", cnn, "--input-type", "float16", "-o", out}, 2, "want uint8 or int8"},
		{"edit bad range", []string{"edit", cnn, "--output-type", "int8", "--output-range", "3", "-o", out}, 2, "two comma-separated numbers"},
		{"edit bad params", []string{"edit", cnn, "--input-type", "uint8", "--input-params", "-1,0", "-o", out}, 2, "scale must be positive"},
		{"compare one model", []string{"compare", cnn}, 2, "FLOAT.onnx and INT8.onnx"},
		{"compare two float models", []string{"compare", cnn, cnn, "--data", testData, "--n", "10"}, 1, "not quantized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(tt.args...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.want)
			assert.NoFileExists(t, out)
		})
	}
}
