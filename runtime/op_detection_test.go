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
