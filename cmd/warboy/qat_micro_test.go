package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// TestQATWholeInputs: models whose samples are every input whole (a graph
// network's nodes and edges, EmbeddingBag's tokens and offsets, a point cloud
// scattered into pillars: no axis to stack samples on) train one sample at a
// time with the output match, each batch's gradients accumulated, and say so;
// the written model loads.
func TestQATWholeInputs(t *testing.T) {
	for _, tc := range []struct {
		model, data string
		lead        bool // the committed samples lack the leading axis of one sample
	}{
		{"gcn_index_add_op16.onnx", "npz_gcn", true},
		{"embbag_opset13.onnx", "npz_embbag", false},
		{"pointpillars_scatter_op18.onnx", "npz_u14_pointpillars_scatter_op18", true},
	} {
		t.Run(tc.model, func(t *testing.T) {
			dir := filepath.Join(exportedDir, tc.data)
			if tc.lead {
				dir = wholeSamples(t, dir)
			}
			out := filepath.Join(t.TempDir(), "q.onnx")
			code, stdout, stderr := runCLI("qat", filepath.Join(exportedDir, tc.model), "--data", dir,
				"--calib-n", "2", "--batch", "2", "--eval-n", "4", "--threads", "1", "-o", out, "--json")
			require.Equal(t, 0, code, stderr)
			var rep struct {
				Loss  string `json:"loss"`
				Micro int    `json:"micro_batch"`
				Note  string `json:"micro_batch_note"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
			assert.Equal(t, "outputs", rep.Loss)
			assert.Equal(t, 1, rep.Micro)
			assert.Contains(t, rep.Note, "each training sample is every input whole")
			_, err := graph.Load(out)
			require.NoError(t, err)
		})
	}
}

// wholeSamples copies the .npz samples of src into a new folder with a leading
// axis of 1 on every array (each file one sample of whole inputs, as the data
// layer asks of inputs that share no batch axis).
func wholeSamples(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join(src, "*.npz"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		arrays, err := dataset.ReadNPZ(f)
		require.NoError(t, err)
		var whole []dataset.NamedTensor
		for name, a := range arrays {
			w := *a
			w.Shape = append([]int{1}, a.Shape...)
			whole = append(whole, dataset.NamedTensor{Name: name, Tensor: &w})
		}
		sort.Slice(whole, func(i, j int) bool { return whole[i].Name < whole[j].Name })
		writeNPZ(t, filepath.Join(dir, filepath.Base(f)), whole...)
	}
	return dir
}

// TestQATFixedBatch: a classifier exported at a fixed batch of 5 (its input
// and output declare 5 and its Flatten is a Reshape to [5, -1], as torch.onnx
// writes one traced at that batch without dynamic_axes) trains in parts of 5:
// the default batch is rounded to a multiple of 5 and says so, the epoch's
// samples beyond the last multiple sit out, and a --batch or --micro-batch the
// model cannot run is refused before any work, nothing written. The written
// model keeps the batch of 5.
func TestQATFixedBatch(t *testing.T) {
	dir := t.TempDir()
	model := fixedBatchMLP(t, dir, 5, []int64{5, -1})
	out := filepath.Join(dir, "q.onnx")
	args := []string{"qat", model, "--data", testData, "--n", "62", "--calib-n", "10", "--eval-n", "23", "--threads", "1", "--lr", "0.01", "-o", out}

	for _, bad := range [][]string{{"--batch", "16"}, {"--batch", "20", "--micro-batch", "10"}} {
		code, _, stderr := runCLI(append(args, bad...)...)
		assert.Equal(t, 2, code, "%v: %s", bad, stderr)
		assert.Contains(t, stderr, "the model runs 5 samples at a time")
		_, err := os.Stat(out)
		require.True(t, os.IsNotExist(err), "%v: nothing written", bad)
	}

	code, stdout, stderr := runCLI(args...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "batch: 60 samples (the default 64 rounded to a multiple of the model's batch 5)")
	assert.Contains(t, stdout, "micro-batch: the model runs 5 samples at a time")

	code, stdout, stderr = runCLI(append(args, "--batch", "10", "--json")...)
	require.Equal(t, 0, code, stderr)
	var rep struct {
		Batch int      `json:"batch"`
		Micro int      `json:"micro_batch"`
		Acc   *float64 `json:"qat_int8_accuracy"`
		N     int      `json:"eval_images"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, []int{10, 5}, []int{rep.Batch, rep.Micro})
	require.NotNil(t, rep.Acc)
	assert.Equal(t, 20, rep.N, "23 test images in batches of 5")
	q, err := graph.Load(out)
	require.NoError(t, err)
	assert.Equal(t, 5, q.Graph.Inputs[0].Shape[0].Size)

	// each sample the model's whole batch (files of [1, 5, 1, 28, 28]): one at a
	// time, and the float model's output size read on one of them
	train, err := dataset.Load(testData, "train")
	require.NoError(t, err)
	whole := t.TempDir()
	for i := range 6 {
		x := *train.Batch(5*i, 5)
		x.Shape = append([]int{1}, x.Shape...)
		writeNPZ(t, filepath.Join(whole, fmt.Sprintf("s%d.npz", i)), dataset.NamedTensor{Name: "input", Tensor: &x})
	}
	code, stdout, stderr = runCLI("qat", model, "--data", whole, "--batch", "2", "--calib-n", "2", "--threads", "1", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	rep2 := struct {
		Micro int    `json:"micro_batch"`
		Note  string `json:"micro_batch_note"`
		Loss  string `json:"loss"`
	}{}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep2))
	assert.Equal(t, 1, rep2.Micro)
	assert.Contains(t, rep2.Note, "each training sample is every input whole")
	assert.Equal(t, "outputs", rep2.Loss)
}

// fixedBatchMLP writes into dir the bundled MLP as torch.onnx exports it traced
// at batch b without dynamic_axes: input and output declare b, the Flatten is a
// Reshape to shape. It returns the file.
func fixedBatchMLP(t *testing.T, dir string, b int, shape []int64) string {
	t.Helper()
	m, err := graph.Load(filepath.Join(testModels, "fmnist_mlp.onnx"))
	require.NoError(t, err)
	g := m.Graph
	g.Inputs[0].Shape[0] = graph.Dim{Size: b}
	g.Outputs[0].Shape[0] = graph.Dim{Size: b}
	for _, n := range g.Nodes {
		if n.OpType == "Flatten" {
			n.OpType, n.Attrs = "Reshape", map[string]*graph.Attr{}
			n.Inputs = append(n.Inputs, "fixed_batch_shape")
		}
	}
	g.Initializers["fixed_batch_shape"] = graph.FromInt64([]int{len(shape)}, shape)
	model := filepath.Join(dir, fmt.Sprintf("mlp_b%d.onnx", b))
	require.NoError(t, m.Save(model))
	return model
}
