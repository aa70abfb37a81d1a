package npu_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
)

// If and Loop run on the host; their subgraphs read values of the enclosing graph,
// which the simulator's shape pass must see (it reported "dangling input" before),
// and the Conv backbone in front of them still runs on the NPU.
func TestControlFlowRunsOnHost(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "control_flow_opset13.onnx"))
	require.NoError(t, err)
	r, err := npu.Simulate(m, npu.Config{AssumeInt8: true, InputShapes: map[string][]int{"x": {1, 3, 8, 8}}})
	require.NoError(t, err)
	host := map[string]string{}
	for _, f := range r.HostFallbacks {
		host[f.OpType+" "+f.Name] = f.Reason
	}
	for _, name := range []string{"If if_pos", "Loop loop", "If if_empty"} {
		reason, ok := host[name]
		if assert.True(t, ok, "%s not a host fallback: %v", name, host) {
			assert.NotContains(t, reason, "dangling", name)
		}
	}
	for _, op := range r.Ops {
		if op.OpType == "Conv" || strings.HasPrefix(op.Name, "conv") {
			assert.Equal(t, npu.EngineNPU, op.Engine, op.Reason)
		}
	}
}

// torchvision's transform computes its Resize scale and its Pad amounts from the
// image shape (Shape, Cast, ReduceMin/ReduceMax, Min, Div, Ceil): constants the
// compiler folds, which must have values here too, or every operator after them
// (the whole backbone) has no shape and is priced as a host fallback.
func TestTransformWithComputedSizes(t *testing.T) {
	b := newGB(map[string][]int{"x": {1, 8, 30, 40}})
	sh := b.node("Shape", []string{"x"}, nil)
	hw := b.node("Slice", []string{sh, b.ints(2), b.ints(4)}, nil)
	f := b.node("Cast", []string{hw}, func(n *graph.Node) { n.SetAttrInt("to", int64(graph.Float32)) })
	lo := b.node("ReduceMin", []string{f}, func(n *graph.Node) { n.SetAttrInt("keepdims", 0) })
	hi := b.node("ReduceMax", []string{f}, func(n *graph.Node) { n.SetAttrInt("keepdims", 0) })
	s1 := b.node("Div", []string{b.scalar(60), lo}, nil)
	s2 := b.node("Div", []string{b.scalar(80), hi}, nil)
	sc := b.node("Min", []string{s1, s2}, nil)
	u := b.node("Unsqueeze", []string{sc, b.ints(0)}, nil)
	scales := b.node("Concat", []string{b.Init("one", graph.FromFloat32([]int{2}, []float32{1, 1})), u, u}, func(n *graph.Node) { n.SetAttrInt("axis", 0) })
	y := b.node("Resize", []string{"x", "", scales}, func(n *graph.Node) { n.SetAttrString("mode", "nearest") })
	z := b.node("Relu", []string{y}, nil)
	r, err := npu.Simulate(b.model(z), npu.Config{AssumeInt8: true})
	require.NoError(t, err)
	for _, f := range r.HostFallbacks {
		assert.NotContains(t, f.Reason, "unknown", f.Name)
	}
}
