package runtime

import (
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

// The ONNX node tests (test_nonmaxsuppression_*) check the selection through the
// conformance suite; these cases check the argument handling.
func TestNonMaxSuppressionArguments(t *testing.T) {
	boxes := f32([]int{1, 3, 4}, 0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 2, 1, 3)
	scores := f32([]int{1, 1, 3}, 0.9, 0.8, 0.7)
	i64s := func(v ...int64) *graph.Tensor { return i64(nil, v...) }
	runNodeCases(t, []nodeCase{
		{name: "no max_output_boxes_per_class selects nothing", node: mk("NonMaxSuppression", 2, 1), inputs: []*graph.Tensor{boxes, scores},
			want: []*graph.Tensor{graph.FromInt64([]int{0, 3}, nil)}},
		{name: "overlap suppressed", node: mk("NonMaxSuppression", 4, 1), inputs: []*graph.Tensor{boxes, scores, i64s(3), f32(nil, 0.5)},
			want: []*graph.Tensor{graph.FromInt64([]int{2, 3}, []int64{0, 0, 0, 0, 0, 2})}},
		{name: "score threshold", node: mk("NonMaxSuppression", 5, 1), inputs: []*graph.Tensor{boxes, scores, i64s(3), f32(nil, 0.5), f32(nil, 0.75)},
			want: []*graph.Tensor{graph.FromInt64([]int{1, 3}, []int64{0, 0, 0})}},
		{name: "scores do not match boxes", node: mk("NonMaxSuppression", 2, 1), inputs: []*graph.Tensor{boxes, f32([]int{1, 1, 2}, 1, 2)},
			wantErr: "disagree"},
		{name: "bad center_point_box", node: mk("NonMaxSuppression", 2, 1, &graph.Attr{Name: "center_point_box", Type: graph.AttrInt, I: 2}),
			inputs: []*graph.Tensor{boxes, scores}, wantErr: "center_point_box is 2"},
	})
}

// The ONNX node tests (test_roialign_aligned_*) check avg mode in both coordinate
// modes; max mode takes the largest weighted corner of every sample (ONNX Runtime).
func TestRoiAlignModes(t *testing.T) {
	x := f32([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	roi := f32([]int{1, 4}, 0, 0, 2, 2)
	idx := i64([]int{1}, 0)
	one := func(mode string) *graph.Node {
		return mk("RoiAlign", 3, 1, aStr("mode", mode), &graph.Attr{Name: "sampling_ratio", Type: graph.AttrInt, I: 1})
	}
	runNodeCases(t, []nodeCase{
		// One sample at (1, 1): the last row and column, weight 1.
		{name: "avg", opset: 10, node: one("avg"), inputs: []*graph.Tensor{x, roi, idx}, want: []*graph.Tensor{f32([]int{1, 1, 1, 1}, 4)}},
		{name: "max", opset: 10, node: one("max"), inputs: []*graph.Tensor{x, roi, idx}, want: []*graph.Tensor{f32([]int{1, 1, 1, 1}, 4)}},
		// half_pixel: the sample is at (0.5, 0.5), the four pixels weigh 1/4 each.
		{name: "avg half_pixel", opset: 16, node: one("avg"), inputs: []*graph.Tensor{x, roi, idx}, want: []*graph.Tensor{f32([]int{1, 1, 1, 1}, 2.5)}},
		{name: "max half_pixel", opset: 16, node: one("max"), inputs: []*graph.Tensor{x, roi, idx}, want: []*graph.Tensor{f32([]int{1, 1, 1, 1}, 1)}},
		{name: "batch index out of range", opset: 16, node: one("avg"), inputs: []*graph.Tensor{x, roi, i64([]int{1}, 3)}, wantErr: "batch index 3"},
	})
}
