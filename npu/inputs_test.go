package npu_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
)

// symbolicHW returns the tiny CNN with its input declared [N, 3, H, W], as exporters
// write models with dynamic height and width.
func symbolicHW() *graph.Model {
	m := zoo.TinyCNN(zoo.Options{})
	in := m.Graph.Inputs[0]
	in.Shape = graph.Shape{{Size: -1, Param: "N"}, {Size: 3}, {Size: -1, Param: "height"}, {Size: -1, Param: "width"}}
	return m
}

// A symbolic height or width is never bound to the batch (a 64x64 CNN was once
// simulated as 1x1): without a shape the simulation fails naming the dimension, and
// with one the network is timed at that size.
func TestSymbolicDimensionsMustBeGiven(t *testing.T) {
	m := symbolicHW()
	_, err := npu.Simulate(m, npu.Config{AssumeInt8: true, Batch: 4})
	require.Error(t, err)
	require.Contains(t, err.Error(), "height")
	require.Contains(t, err.Error(), "--input-shape")

	at := func(hw int) *npu.Report {
		r, err := npu.Simulate(m, npu.Config{AssumeInt8: true, Batch: 2, InputShapes: map[string][]int{"input": {2, 3, hw, hw}}})
		require.NoError(t, err)
		return r
	}
	r32, r64 := at(32), at(64)
	fixed := sim(t, zoo.TinyCNN(zoo.Options{}), npu.Config{Batch: 2})
	require.Equal(t, fixed.MACs, r32.MACs, "given 32x32 is the static 32x32 model")
	require.Greater(t, r64.MACs, 3*r32.MACs, "64x64 has about 4x the convolution work")

	// BindInputShapes does the same for the quantizer's random calibration data.
	b, err := npu.BindInputShapes(m, map[string][]int{"input": {1, 3, 64, 64}})
	require.NoError(t, err)
	require.False(t, b.Graph.Inputs[0].Shape[0].Known(), "the batch stays symbolic")
	require.Equal(t, 64, b.Graph.Inputs[0].Shape[3].Size)
	require.False(t, m.Graph.Inputs[0].Shape[3].Known(), "the caller's model is not modified")
	ins, err := npu.RandomInputs(b, 3, 1)
	require.NoError(t, err)
	require.Equal(t, []int{3, 3, 64, 64}, ins["input"].Shape)
	_, err = npu.RandomInputs(m, 3, 1)
	require.ErrorContains(t, err, "height")
	_, err = npu.BindInputShapes(m, map[string][]int{"images": {1, 3, 64, 64}})
	require.ErrorContains(t, err, "images")
}

// A model exported with a static batch of 1 and run with Batch 8 is re-batched (the
// batch reaches every output, so the throughput is that of 8 images), never timed as
// one image with 8x the throughput; a model whose batch cannot change is refused.
func TestStaticBatchIsRebatchedOrRefused(t *testing.T) {
	dynamic := sim(t, zoo.TinyCNN(zoo.Options{}), npu.Config{Batch: 8, Mode: npu.ModeFused})
	static := sim(t, zoo.TinyCNN(zoo.Options{Batch: 1}), npu.Config{Batch: 8, Mode: npu.ModeFused})
	require.Equal(t, dynamic.MACs, static.MACs, "all 8 images are computed")
	require.InEpsilon(t, dynamic.ThroughputIPS, static.ThroughputIPS, 1e-9)
	require.Contains(t, static.Warnings[0]+static.Warnings[len(static.Warnings)-1], "re-batched")

	// input [1, 3, 8, 8] -> Reshape to the constant [1, 192]: the batch is baked in.
	g := &graph.Graph{Name: "fixed_batch", Initializers: map[string]*graph.Tensor{
		"shape": graph.FromInt64([]int{2}, []int64{1, 192}),
	}, Values: map[string]*graph.Value{}}
	g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(1, 3, 8, 8)}}
	g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}}
	g.Nodes = []*graph.Node{{Name: "flat", OpType: "Reshape", Inputs: []string{"x", "shape"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}}
	m := &graph.Model{Graph: g, IRVersion: 7, Opsets: map[string]int64{"": 13}}
	_, err := npu.Simulate(m, npu.Config{AssumeInt8: true, Batch: 1})
	require.NoError(t, err)
	_, err = npu.Simulate(m, npu.Config{AssumeInt8: true, Batch: 8})
	require.Error(t, err)
	require.Contains(t, err.Error(), "static batch of 1")
	require.Contains(t, err.Error(), "does not re-batch to 8")

	// A static batch other than 1 that differs from the request is an error too.
	_, err = npu.Simulate(zoo.TinyCNN(zoo.Options{Batch: 2}), npu.Config{AssumeInt8: true, Batch: 8})
	require.ErrorContains(t, err, "batch of 2")
}

// Warboy's compiler accepts ONNX opset 13 or lower; a newer model is timed with the
// warning the compiler's refusal deserves.
func TestOpsetAbove13Warns(t *testing.T) {
	m := zoo.TinyCNN(zoo.Options{})
	r := sim(t, m, npu.Config{})
	for _, w := range r.Warnings {
		require.NotContains(t, w, "opset")
	}
	m.Opsets = map[string]int64{"": 17}
	r = sim(t, m, npu.Config{})
	found := false
	for _, w := range r.Warnings {
		if contains(w, "opset 17") && contains(w, "13 or lower") {
			found = true
		}
	}
	require.True(t, found, "warnings: %v", r.Warnings)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestRandomInputsMask: a bool key padding mask that shares [batch,seq] with the
// float input (bound through the names by BindInputShapes) gets random values of
// both kinds in the bound shape.
func TestRandomInputsMask(t *testing.T) {
	sym := func(p string) graph.Dim { return graph.Dim{Size: -1, Param: p} }
	m := &graph.Model{Graph: &graph.Graph{
		Inputs: []*graph.Value{
			{Name: "input", DType: graph.Float32, HasShape: true, Shape: graph.Shape{sym("batch"), sym("seq"), {Size: 4}}},
			{Name: "pad", DType: graph.Bool, HasShape: true, Shape: graph.Shape{sym("batch"), sym("seq")}},
		},
		Initializers: map[string]*graph.Tensor{},
	}}
	b, err := npu.BindInputShapes(m, map[string][]int{"input": {1, 64, 4}})
	require.NoError(t, err)
	ins, err := npu.RandomInputs(b, 2, 1)
	require.NoError(t, err)
	require.Equal(t, []int{2, 64}, ins["pad"].Shape)
	set := 0
	for _, v := range ins["pad"].Data.([]bool) {
		if v {
			set++
		}
	}
	assert.Greater(t, set, 0)
	assert.Less(t, set, 128)
}
