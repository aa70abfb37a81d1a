package npu_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
)

// torch.onnx writes a Pad's pads as a Constant node (MaxViT's stem): they are as
// constant as an initializer, and the Pad runs on the NPU instead of being priced as
// a host fallback ("Pad with pads that are not constant").
func TestPadWithConstantNodePads(t *testing.T) {
	b := newGB(map[string][]int{"x": {1, 8, 16, 16}})
	pads := b.Name("pads")
	b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: pads, OpType: "Constant", Outputs: []string{pads},
		Attrs: map[string]*graph.Attr{"value": {Name: "value", Type: graph.AttrTensor,
			T: graph.FromInt64([]int{8}, []int64{0, 0, 1, 1, 0, 0, 1, 1})}}})
	y := b.node("Pad", []string{"x", pads}, nil)
	r, err := npu.Simulate(b.model(y), npu.Config{AssumeInt8: true})
	require.NoError(t, err)
	require.Empty(t, r.HostFallbacks)
	for _, op := range r.Ops {
		if op.Name == y {
			require.Equal(t, npu.EngineNPU, op.Engine, op.Reason)
			return
		}
	}
	t.Fatalf("no operator %s in the report", y)
}
