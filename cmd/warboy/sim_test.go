package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
)

func TestSimCommand(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.json")
	profile := filepath.Join(dir, "fast.json")
	require.NoError(t, os.WriteFile(profile, []byte(`{"model": {"dram_efficiency": {"value": 0.9}}}`), 0o644))
	// A CNN exported with symbolic height and width, and one with a batch fixed to 1
	// by a constant Reshape.
	symbolic := filepath.Join(dir, "symbolic_hw.onnx")
	m := zoo.TinyCNN(zoo.Options{})
	m.Graph.Inputs[0].Shape = graph.Shape{{Size: -1, Param: "N"}, {Size: 3}, {Size: -1, Param: "height"}, {Size: -1, Param: "width"}}
	require.NoError(t, m.Save(symbolic))
	fixed := filepath.Join(dir, "fixed_batch.onnx")
	fm := zoo.TinyCNN(zoo.Options{Batch: 1})
	for _, n := range fm.Graph.Nodes {
		if n.OpType == "Flatten" {
			n.OpType, n.Attrs = "Reshape", map[string]*graph.Attr{}
			n.Inputs = append(n.Inputs, "fixed_shape")
		}
	}
	fm.Graph.Initializers["fixed_shape"] = graph.FromInt64([]int{2}, []int64{1, 32})
	require.NoError(t, fm.Save(fixed))
	static := filepath.Join(dir, "static_batch.onnx")
	require.NoError(t, zoo.TinyCNN(zoo.Options{Batch: 1}).Save(static))
	// Samples of one size for the symbolic model: --data binds height and width.
	samples := filepath.Join(dir, "samples")
	require.NoError(t, os.Mkdir(samples, 0o755))
	for i := range 2 {
		f, err := os.Create(filepath.Join(samples, fmt.Sprintf("s%d.npy", i)))
		require.NoError(t, err)
		require.NoError(t, dataset.WriteNPY(f, graph.FromFloat32([]int{1, 3, 40, 56}, make([]float32, 3*40*56))))
		require.NoError(t, f.Close())
	}
	opset17 := filepath.Join(dir, "opset17.onnx")
	om := zoo.TinyCNN(zoo.Options{})
	om.Opsets = map[string]int64{"": 17}
	require.NoError(t, om.Save(opset17))
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"zoo model as JSON with a trace", []string{"sim", "zoo:tiny_cnn", "--json", "--trace", trace}, 0, []string{`"latency_us"`, `"ops"`, `"time_split_us"`}},
		{"text report", []string{"sim", "zoo:tiny_cnn", "--mode", "single", "--batch", "2"}, 0,
			[]string{"latency", "throughput", "MAC utilization", "DRAM", "SRAM", "time split", "per-operator timeline", "LowLevelConv2d", "simulator"}},
		{"float model from PyTorch, flags after the model", []string{"sim", filepath.Join("..", "..", "testdata", "models", "fmnist_resnet.onnx"), "--functional", "--calib", "2"}, 0,
			[]string{"MIN_MAX_ASYM calibration on 2 samples", "outputs     computed with the int8 runtime"}},
		{"2pe timing only with a what-if profile", []string{"sim", "zoo:tiny_cnn", "--mode", "2pe", "--timing-only", "--profile", profile}, 0, []string{"mode 2pe", "PE1"}},
		{"print profile", []string{"sim", "--print-profile", "--profile", profile}, 0, []string{`"dram_efficiency"`, `"kind": "user"`}},
		{"unknown mode", []string{"sim", "zoo:tiny_cnn", "--mode", "3pe"}, 2, []string{"unknown mode"}},
		{"unknown zoo model", []string{"sim", "zoo:nope"}, 2, []string{"no model"}},
		{"no model", []string{"sim"}, 2, []string{"sim takes one MODEL"}},
		{"symbolic height and width must be given", []string{"sim", symbolic, "--timing-only"}, 1, []string{"height", "--input-shape"}},
		{"symbolic height and width given", []string{"sim", symbolic, "--timing-only", "--input-shape", "input=1,3,64,64", "--batch", "2"}, 0, []string{"batch 2", "latency"}},
		{"symbolic leading dimension given", []string{"sim", symbolic, "--timing-only", "--input-shape", "input=3,3,64,64"}, 0, []string{"batch 3", "latency"}},
		{"symbolic height and width given to a float model", []string{"sim", symbolic, "--calib", "1", "--input-shape", "input=1,3,48,48"}, 0, []string{"MIN_MAX_ASYM calibration on 1 samples"}},
		{"symbolic height and width from --data", []string{"sim", symbolic, "--data", samples}, 0,
			[]string{"input shapes from the first sample", "input=1,3,40,56", "calibration on 2 samples", "latency"}},
		{"--input-shape before --data", []string{"sim", symbolic, "--data", samples, "--timing-only", "--input-shape", "input=1,3,64,64"}, 0,
			[]string{"latency"}},
		{"input shape of an unknown input", []string{"sim", symbolic, "--timing-only", "--input-shape", "images=1,3,64,64"}, 1, []string{"images", `"input"`}},
		{"static batch 1 re-batched", []string{"sim", static, "--timing-only", "--batch", "8"}, 0, []string{"batch 8", "re-batched to 8"}},
		{"static batch 1 that cannot re-batch is refused", []string{"sim", fixed, "--timing-only", "--batch", "8"}, 1, []string{"static batch of 1", "does not re-batch to 8"}},
		{"opset above 13 warns", []string{"sim", opset17, "--timing-only"}, 0, []string{"opset 17", "13 or lower"}},
		{"YOLOv5s breakdown", []string{"sim", "zoo:yolov5s", "--timing-only", "--prelowered", "--ops", "3"}, 0, []string{"compute (MAC)", "vector", "+Sigmoid+Mul"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			require.Equal(t, tc.code, code, "stderr: %s", errb.String())
			all := out.String() + errb.String()
			for _, s := range tc.contains {
				require.Contains(t, all, s)
			}
		})
	}
	b, err := os.ReadFile(trace)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	require.NotEmpty(t, doc["traceEvents"])
}
