package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// TestQATZeroGradientBranch: a classifier with a rounded side branch (the bundled
// MLP's logits plus Round of another head's) trains; the weight behind the Round,
// which no gradient reaches, is named on stderr and in the JSON report.
func TestQATZeroGradientBranch(t *testing.T) {
	m, err := graph.Load(filepath.Join(testModels, "fmnist_mlp.onnx"))
	require.NoError(t, err)
	g := m.Graph
	last := g.Nodes[len(g.Nodes)-1]
	require.Equal(t, "logits", last.Outputs[0])
	last.Outputs[0] = "main_logits"
	rng := rand.New(rand.NewSource(1))
	w := make([]float32, 10*128)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.2)
	}
	g.Initializers["side.weight"] = graph.FromFloat32([]int{10, 128}, w)
	g.Nodes = append(g.Nodes,
		&graph.Node{Name: "side_gemm", OpType: "Gemm", Inputs: []string{"/relu2/Relu_output_0", "side.weight"}, Outputs: []string{"side"},
			Attrs: map[string]*graph.Attr{"transB": {Name: "transB", Type: graph.AttrInt, I: 1}}},
		&graph.Node{Name: "side_round", OpType: "Round", Inputs: []string{"side"}, Outputs: []string{"side_r"}, Attrs: map[string]*graph.Attr{}},
		&graph.Node{Name: "join", OpType: "Add", Inputs: []string{"main_logits", "side_r"}, Outputs: []string{"logits"}, Attrs: map[string]*graph.Attr{}})
	dir := t.TempDir()
	model := filepath.Join(dir, "rounded.onnx")
	require.NoError(t, m.Save(model))

	out := filepath.Join(dir, "q.onnx")
	code, stdout, stderr := runCLI("qat", model, "--data", testData, "--n", "256", "--calib-n", "64", "--eval-n", "100",
		"--val-n", "0", "--epochs", "1", "--lr", "0.002", "--threads", "1", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, `1 parameters (side.weight) get no gradient: every path from them to the outputs passes through Round "side_round", which pass none back`)
	var rep qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, []string{"side.weight"}, rep.NoGradParams)
	assert.Equal(t, []string{`Round "side_round"`}, rep.NoGradThrough)
	require.NotNil(t, rep.QATAccuracy)
	_, err = graph.Load(out)
	require.NoError(t, err)

	// the bundled MLP has no such branch: the lists are empty
	code, stdout, stderr = runCLI("qat", filepath.Join(testModels, "fmnist_mlp.onnx"), "--data", testData, "--n", "64", "--calib-n", "32",
		"--eval-n", "0", "--val-n", "0", "--epochs", "1", "--lr", "0.002", "--threads", "1", "-o", filepath.Join(dir, "m.onnx"), "--json")
	require.Equal(t, 0, code, stderr)
	var plain qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &plain))
	assert.Equal(t, []string{}, plain.NoGradParams)
	assert.Equal(t, []string{}, plain.NoGradThrough)
	assert.Contains(t, stdout, `"no_gradient_params": []`)
	assert.NotContains(t, stderr, "no gradient")
}

// TestQATControlFlowAndFrontEnds: exporter-made models that once stopped at an
// operator without a gradient train and write an int8 model: a Scan (a Mamba
// selective scan, skl2onnx's cdist), a scripted Loop (RWKV's recurrence), an If
// over activations (torch.jit.script), an STFT or DFT front end on the input
// signal that no weight feeds (run as data), and a learned spectral mask between
// a DFT and its inverse (the DFT's gradient).
func TestQATControlFlowAndFrontEnds(t *testing.T) {
	for _, tc := range []struct{ model, data string }{
		{"mamba_scan_op13.onnx", "npz_mamba"},
		{"skl2onnx_cdist_scan_op9.onnx", "npz_cdist"},
		{"rwkv_small_op13.onnx", "npz_rwkv"},
		{"control_flow_opset13.onnx", "npy_control"},
		{"stft_op17.onnx", "npz_stft"},
		{"logmel_dft_op17.onnx", "npz_u14_logmel_dft_op17"},
		{"spectral_mask_idft_op17.onnx", "npz_u14_spectral_mask_idft_op17"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "q.onnx")
			code, stdout, stderr := runCLI("qat", filepath.Join(exportedDir, tc.model), "--data", filepath.Join(exportedDir, tc.data),
				"--calib-n", "2", "--batch", "2", "--eval-n", "4", "--threads", "1", "-o", out, "--json")
			require.Equal(t, 0, code, stderr)
			var rep qatReport
			require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
			require.NotNil(t, rep.QATSQNR)
			assert.Greater(t, float64(*rep.QATSQNR), 5.0)
			q, err := graph.Load(out)
			require.NoError(t, err)
			assert.Equal(t, "QAT ("+rep.Method+" init)", q.Metadata[quantizer.MetaMethod])
		})
	}
}

// TestQATRaggedOutput: a model whose output keeps the positive scores (NonZero,
// GatherND: its length set by the values) trains on the scores it selects from,
// says so, and names the weight that computes only that output.
func TestQATRaggedOutput(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	w := graph.NewTensor(graph.Float32, []int{4, 4})
	for i := range w.F32() {
		w.F32()[i] = float32(rng.NormFloat64())
	}
	g := &graph.Graph{Name: "select", Initializers: map[string]*graph.Tensor{
		"W": w, "W2": graph.FromFloat32([]int{1, 3}, []float32{0.5, -1, 2}),
		"zero": graph.ScalarFloat32(0), "ax1": graph.FromInt64([]int{1}, []int64{1})}, Values: map[string]*graph.Value{}}
	nd := func(op string, in []string, out string, attrs ...*graph.Attr) *graph.Node {
		n := &graph.Node{Name: out + "_node", OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
		for _, a := range attrs {
			n.Attrs[a.Name] = a
		}
		return n
	}
	g.Nodes = []*graph.Node{
		nd("MatMul", []string{"x", "W"}, "scores"),
		nd("Greater", []string{"scores", "zero"}, "pos"),
		nd("NonZero", []string{"pos"}, "nz"),
		nd("Transpose", []string{"nz"}, "idx", &graph.Attr{Name: "perm", Type: graph.AttrInts, Ints: []int64{1, 0}}),
		nd("GatherND", []string{"scores", "idx"}, "kept"),
		nd("Unsqueeze", []string{"kept", "ax1"}, "kept2"),
		nd("MatMul", []string{"kept2", "W2"}, "y"),
		nd("ReduceMean", []string{"scores"}, "mean", &graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: []int64{1}}),
	}
	g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.Shape{{Size: -1, Param: "N"}, {Size: 4}}, HasShape: true}}
	g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}, {Name: "mean", DType: graph.Float32}}
	m := &graph.Model{Graph: g, IRVersion: 7, Opsets: map[string]int64{"": 13}}
	dir := t.TempDir()
	model := filepath.Join(dir, "select.onnx")
	require.NoError(t, m.Save(model))
	data := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(data, 0o755))
	for i := 0; i < 16; i++ {
		writeNPZ(t, filepath.Join(data, fmt.Sprintf("s%02d.npz", i)), dataset.NamedTensor{Name: "x", Tensor: randRows(rng, 1)})
	}
	out := filepath.Join(dir, "q.onnx")
	code, stdout, stderr := runCLI("qat", model, "--data", data, "--calib-n", "4", "--batch", "4", "--eval-n", "4", "--threads", "1", "-o", out, "--json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "note: outputs y have a length set by the values (NonZero")
	assert.Contains(t, stderr, "training matches what they are selected from: mean, scores")
	var rep qatReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, []string{"W2"}, rep.NoGradParams)
	_, err := graph.Load(out)
	require.NoError(t, err)
}
