package runtime

import (
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

// TestReduceAxesInputOpset18: from opset 18 every reduction (not only
// ReduceSum) takes its axes as the second input, as torch.onnx and the
// dynamo exporter write x.mean([2, 3]) at that opset. Read as an attribute
// the axes were absent and the node reduced every axis.
func TestReduceAxesInputOpset18(t *testing.T) {
	x := f32([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	runNodeCases(t, []nodeCase{
		{name: "mean over axis 1", opset: 18, node: mk("ReduceMean", 2, 1, aInt("keepdims", 0)), inputs: []*graph.Tensor{x, i64([]int{1}, 1)},
			want: []*graph.Tensor{f32([]int{2}, 2, 5)}},
		{name: "max over axis 0, keepdims", opset: 18, node: mk("ReduceMax", 2, 1), inputs: []*graph.Tensor{x, i64([]int{1}, -2)},
			want: []*graph.Tensor{f32([]int{1, 3}, 4, 5, 6)}},
		{name: "l2 without axes reduces all", opset: 18, node: mk("ReduceSumSquare", 1, 1, aInt("keepdims", 0)), inputs: []*graph.Tensor{x},
			want: []*graph.Tensor{f32(nil, 91)}},
		{name: "opset 17 mean keeps the attribute", opset: 17, node: mk("ReduceMean", 1, 1, aInts("axes", 0)), inputs: []*graph.Tensor{x},
			want: []*graph.Tensor{f32([]int{1, 3}, 2.5, 3.5, 4.5)}},
	})
}
