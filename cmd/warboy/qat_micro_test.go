package main

import (
	"encoding/json"
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
