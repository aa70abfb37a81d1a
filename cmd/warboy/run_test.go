package main

import (
	"os"
	"path/filepath"
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
		{"wrong size", []int{1, 1, 14, 14}, `input "input": got shape [1,1,14,14], model expects [N,1,28,28]`},
		{"wrong rank", []int{1, 28, 28}, `input "input": got shape [1,28,28], model expects [N,1,28,28]`},
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
