package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

func TestUsageAndHelp(t *testing.T) {
	code, out, _ := runCLI()
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "commands:")
	code, _, errOut := runCLI("frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown command "frobnicate"`)
}

func TestInspect(t *testing.T) {
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	code, out, errOut := runCLI("inspect", cnn, "--json")
	require.Equal(t, 0, code, errOut)
	var rep inspectReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, int64(13), rep.Opset)
	assert.Equal(t, 2, rep.OpCounts["Conv"])
	assert.Equal(t, 2, rep.OpCounts["BatchNormalization"])
	// conv1 28*28*32*9 + conv2 14*14*64*288 + fc1 3136*128 + fc2 128*10
	assert.Equal(t, int64(225792+3612672+401408+1280), rep.MACs)
	assert.Equal(t, int64(421834+192), rep.Params, "parameters plus the BatchNorm statistics")

	code, out, _ = runCLI("inspect", "--ops")
	require.Equal(t, 0, code)
	for _, op := range []string{"Conv", "ConvTranspose", "LSTM", "Resize", "LayerNormalization", "QLinearConv", "MatMulInteger"} {
		assert.Contains(t, out, op)
	}
}

func TestRunAndEval(t *testing.T) {
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	code, out, errOut := runCLI("run", cnn, "--index", "0", "--data", testData, "--json")
	require.Equal(t, 0, code, errOut)
	var rr runReport
	require.NoError(t, json.Unmarshal([]byte(out), &rr))
	require.Len(t, rr.Outputs, 1)
	assert.Equal(t, []int{1, 10}, rr.Outputs[0].Shape)
	require.NotNil(t, rr.Label)
	assert.Equal(t, *rr.Label, rr.Outputs[0].Top1[0], "the first test image is classified correctly")

	// The same image through a .npy file gives the same logits.
	ds, err := dataset.Load(testData, "t10k")
	require.NoError(t, err)
	npy := filepath.Join(t.TempDir(), "x.npy")
	f, err := os.Create(npy)
	require.NoError(t, err)
	require.NoError(t, dataset.WriteNPY(f, ds.Batch(0, 1)))
	require.NoError(t, f.Close())
	code, out, errOut = runCLI("run", cnn, "--input", npy, "--json")
	require.Equal(t, 0, code, errOut)
	var rr2 runReport
	require.NoError(t, json.Unmarshal([]byte(out), &rr2))
	assert.Equal(t, rr.Outputs[0].Data, rr2.Outputs[0].Data)

	code, out, errOut = runCLI("eval", cnn, "--data", testData, "--n", "500", "--json")
	require.Equal(t, 0, code, errOut)
	var er struct {
		Accuracy float64 `json:"accuracy"`
		Images   int     `json:"images"`
		Speed    float64 `json:"images_per_second"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &er))
	assert.Equal(t, 500, er.Images)
	assert.Greater(t, er.Accuracy, 0.85)
	assert.Greater(t, er.Speed, 0.0)
}

func TestCLIBadInput(t *testing.T) {
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	dir := t.TempDir()
	wrong := filepath.Join(dir, "wrong.npy")
	f, err := os.Create(wrong)
	require.NoError(t, err)
	require.NoError(t, dataset.WriteNPY(f, graph.FromFloat32([]int{1, 1, 14, 14}, make([]float32, 196))))
	require.NoError(t, f.Close())
	corrupt := filepath.Join(dir, "corrupt.onnx")
	b, err := os.ReadFile(cnn)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(corrupt, b[:len(b)/3], 0o600))

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing model", []string{"inspect", filepath.Join(dir, "nope.onnx")}, 1, "no such file"},
		{"corrupt model", []string{"eval", corrupt}, 1, "malformed"},
		{"wrong input shape", []string{"run", cnn, "--input", wrong}, 1, "shape"},
		{"index out of range", []string{"run", cnn, "--index", "999999", "--data", testData}, 2, "10000 images"},
		{"bad mode", []string{"eval", cnn, "--mode", "int4"}, 2, "--mode"},
		{"data that does not fit", []string{"eval", cnn, "--data", dir}, 1, "wrong.npy: sample shape [1,1,14,14] does not fit input"},
		{"no data", []string{"eval", cnn, "--data", t.TempDir()}, 1, "no t10k-images"},
		{"unknown flag", []string{"inspect", "--frob"}, 2, "frob"},
		{"raw without shape", []string{"run", cnn, "--input", corrupt}, 2, "--shape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCLI(c.args...)
			assert.Equal(t, c.code, code, errOut)
			assert.Contains(t, strings.ToLower(errOut), strings.ToLower(c.want))
		})
	}
}
