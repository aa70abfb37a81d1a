package runtime

import (
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

// CenterCropPad against ONNX Runtime 1.30's outputs: crops and pads by an odd
// difference put the extra element at the end; axes may be negative.
func TestCenterCropPadAsORT(t *testing.T) {
	row := f32([]int{1, 5}, 1, 2, 3, 4, 5)
	m := f32([]int{3, 4}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	axes := func(v ...int64) *graph.Attr { return &graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: v} }
	runNodeCases(t, []nodeCase{
		{name: "crop 5 to 2", opset: 18, node: mk("CenterCropPad", 2, 1), inputs: []*graph.Tensor{row, i64([]int{2}, 1, 2)},
			want: []*graph.Tensor{f32([]int{1, 2}, 2, 3)}},
		{name: "crop 5 to 4", opset: 18, node: mk("CenterCropPad", 2, 1, axes(-1)), inputs: []*graph.Tensor{row, i64([]int{1}, 4)},
			want: []*graph.Tensor{f32([]int{1, 4}, 1, 2, 3, 4)}},
		{name: "pad 5 to 8", opset: 18, node: mk("CenterCropPad", 2, 1), inputs: []*graph.Tensor{row, i64([]int{2}, 1, 8)},
			want: []*graph.Tensor{f32([]int{1, 8}, 0, 1, 2, 3, 4, 5, 0, 0)}},
		{name: "crop rows, pad columns", opset: 18, node: mk("CenterCropPad", 2, 1), inputs: []*graph.Tensor{m, i64([]int{2}, 2, 7)},
			want: []*graph.Tensor{f32([]int{2, 7}, 0, 1, 2, 3, 4, 0, 0, 0, 5, 6, 7, 8, 0, 0)}},
		{name: "int64 data", opset: 18, node: mk("CenterCropPad", 2, 1, axes(0)), inputs: []*graph.Tensor{i64([]int{3}, 7, 8, 9), i64([]int{1}, 5)},
			want: []*graph.Tensor{i64([]int{5}, 0, 7, 8, 9, 0)}},
		{name: "wrong count", opset: 18, node: mk("CenterCropPad", 2, 1), inputs: []*graph.Tensor{row, i64([]int{1}, 2)},
			wantErr: "shape has 1 values for 2 axes"},
	})
}
