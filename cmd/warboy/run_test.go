package main

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// writeNPYFile writes t as a .npy file in dir.
func writeNPYFile(t *testing.T, dir, name string, x *graph.Tensor) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, dataset.WriteNPY(f, x))
	require.NoError(t, f.Close())
	return p
}

// A wrong-shaped input is reported in one notation for the given and the declared
// shape (the error used to read "got shape [1 1 14 14], model expects [N,1,28,28]").
func TestRunWrongShapeNotation(t *testing.T) {
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	dir := t.TempDir()
	tests := []struct {
		name  string
		shape []int
		want  string
	}{
		{"wrong size", []int{1, 1, 14, 14}, `sample shape [1,1,14,14] does not fit input "input": the model declares [N,1,28,28]`},
		// Rank 5 is now a list of whole inputs (docs/cli.md, Data); rank 6 fits nothing.
		{"wrong rank", []int{1, 1, 1, 1, 28, 28}, `array "input" has shape [1,1,1,1,28,28] (rank 6), which does not fit input "input" [N,1,28,28]`},
		{"whole input of the wrong size", []int{1, 1, 1, 14, 14}, `sample shape [1,1,14,14] does not fit input "input": the model declares [N,1,28,28]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := writeNPYFile(t, dir, tt.name+".npy", graph.FromFloat32(tt.shape, make([]float32, graph.NumElements(tt.shape))))
			code, stdout, stderr := runCLI("run", cnn, "--input", in)
			assert.Equal(t, 1, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

// twoOutputModel writes the bundled CNN with a second output (the first ReLU).
func twoOutputModel(t *testing.T) string {
	t.Helper()
	m, err := graph.Load(filepath.Join(testModels, "fmnist_cnn.onnx"))
	require.NoError(t, err)
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "/relu1/Relu_output_0", DType: graph.Float32})
	p := filepath.Join(t.TempDir(), "cnn_two_outputs.onnx")
	require.NoError(t, m.Save(p))
	return p
}

func readNPZ(t *testing.T, path string) map[string]*graph.Tensor {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	out := map[string]*graph.Tensor{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		x, err := dataset.DecodeNPY(b)
		require.NoError(t, err)
		out[strings.TrimSuffix(f.Name, ".npy")] = x
	}
	return out
}

// run --output writes the outputs as .npy (one output) or .npz (one array per output)
// instead of printing every value.
func TestRunOutputFile(t *testing.T) {
	cnn := filepath.Join(testModels, "fmnist_cnn.onnx")
	two := twoOutputModel(t)
	dir := t.TempDir()
	code, out, stderr := runCLI("run", cnn, "--data", testData, "--index", "3", "--json")
	require.Equal(t, 0, code, stderr)
	var ref runReport
	require.NoError(t, json.Unmarshal([]byte(out), &ref))

	npy := filepath.Join(dir, "logits.npy")
	code, out, stderr = runCLI("run", cnn, "--data", testData, "--index", "3", "--output", npy)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "logits float32[1,10]\n")
	assert.Contains(t, out, "wrote: "+npy+" (1 array(s))")
	x, err := dataset.ReadNPY(npy)
	require.NoError(t, err)
	vals, err := x.AsFloat64()
	require.NoError(t, err)
	assert.Equal(t, []int{1, 10}, x.Shape)
	assert.Equal(t, ref.Outputs[0].Data, vals)

	// JSON: the report without the values, and the file it wrote.
	npz := filepath.Join(dir, "all.npz")
	code, out, stderr = runCLI("run", two, "--data", testData, "--index", "3", "-o", npz, "--json")
	require.Equal(t, 0, code, stderr)
	var rep runReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, npz, rep.OutputFile)
	require.Len(t, rep.Outputs, 2)
	assert.Nil(t, rep.Outputs[0].Data)
	arrays := readNPZ(t, npz)
	require.Len(t, arrays, 2)
	vals, err = arrays["logits"].AsFloat64()
	require.NoError(t, err)
	// The extra output keeps /relu1 NCHW, so this model's float32 plan has no
	// channels-last chain where the other one has: equal up to float rounding.
	assert.InDeltaSlice(t, ref.Outputs[0].Data, vals, 1e-4)
	assert.Equal(t, []int{1, 32, 28, 28}, arrays["/relu1/Relu_output_0"].Shape)

	bad := filepath.Join(dir, "bad.npy")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{".npy with two outputs", []string{"run", two, "--data", testData, "--output", bad}, 2,
			"--output " + bad + ": the model has 2 outputs (logits, /relu1/Relu_output_0) and a .npy file holds one array; write a .npz"},
		{"unknown extension", []string{"run", cnn, "--data", testData, "--output", filepath.Join(dir, "x.txt")}, 2, "must end in .npy (one output) or .npz"},
		{"missing directory", []string{"run", cnn, "--data", testData, "--output", filepath.Join(dir, "no", "x.npz")}, 1, "cannot write " + filepath.Join(dir, "no", "x.npz")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 2, "only the two files written above")
		})
	}
}
