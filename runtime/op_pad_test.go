package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestPadOps(t *testing.T) {
	x := f32([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	pads := func(v ...int64) *graph.Tensor { return i64([]int{len(v)}, v...) }
	runNodeCases(t, []nodeCase{
		{name: "constant", node: mk("Pad", 3, 1), inputs: []*graph.Tensor{x, pads(0, 1, 1, 0), f32(nil, 9)},
			want: []*graph.Tensor{f32([]int{3, 4}, 9, 1, 2, 3, 9, 4, 5, 6, 9, 9, 9, 9)}},
		{name: "constant default zero", node: mk("Pad", 2, 1), inputs: []*graph.Tensor{x, pads(1, 0, 0, 0)},
			want: []*graph.Tensor{f32([]int{3, 3}, 0, 0, 0, 1, 2, 3, 4, 5, 6)}},
		{name: "edge", node: mk("Pad", 2, 1, aStr("mode", "edge")), inputs: []*graph.Tensor{x, pads(1, 2, 0, 1)},
			want: []*graph.Tensor{f32([]int{3, 6}, 1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6)}},
		{name: "reflect", node: mk("Pad", 2, 1, aStr("mode", "reflect")), inputs: []*graph.Tensor{x, pads(0, 2, 1, 2)},
			want: []*graph.Tensor{f32([]int{3, 7}, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1)}},
		{name: "reflect wider than the axis", node: mk("Pad", 2, 1, aStr("mode", "reflect")), inputs: []*graph.Tensor{i32([]int{2}, 1, 2), pads(3, 2)},
			want: []*graph.Tensor{i32([]int{7}, 2, 1, 2, 1, 2, 1, 2)}},
		{name: "negative pads crop", node: mk("Pad", 2, 1), inputs: []*graph.Tensor{x, pads(0, -1, -1, 1)},
			want: []*graph.Tensor{f32([]int{1, 3}, 2, 3, 0)}},
		{name: "int8 constant", node: mk("Pad", 3, 1), inputs: []*graph.Tensor{i8([]int{2}, 1, 2), pads(1, 1), i8(nil, -128)},
			want: []*graph.Tensor{i8([]int{4}, -128, 1, 2, -128)}},
		{name: "legacy attributes", opset: 2, node: mk("Pad", 1, 1, aInts("pads", 1, 0), aFloat("value", 1.5)), inputs: []*graph.Tensor{f32([]int{1}, 7)},
			want: []*graph.Tensor{f32([]int{2}, 1.5, 7)}},
		{name: "float16 value attr", opset: 2, node: mk("Pad", 1, 1, aInts("pads", 0, 1), aFloat("value", 0.5)), inputs: []*graph.Tensor{f16([]int{1}, 2)},
			want: []*graph.Tensor{f16([]int{2}, 2, 0.5)}},
		{name: "3-d edge", node: mk("Pad", 2, 1, aStr("mode", "edge")), inputs: []*graph.Tensor{f32([]int{1, 2, 1}, 1, 2), pads(0, 1, 1, 1, 0, 0)},
			want: []*graph.Tensor{f32([]int{2, 3, 2}, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 2, 2)}},
		{name: "wrong pads length", node: mk("Pad", 2, 1), inputs: []*graph.Tensor{x, pads(1, 1)}, wantErr: "pads has 2 values, expected 4"},
		{name: "value dtype", node: mk("Pad", 3, 1), inputs: []*graph.Tensor{x, pads(0, 0, 0, 0), i32(nil, 1)}, wantErr: "dtype mismatch"},
		{name: "crop below zero", node: mk("Pad", 2, 1), inputs: []*graph.Tensor{x, pads(-3, 0, 0, 0)}, wantErr: "size -1"},
		{name: "unknown mode", node: mk("Pad", 2, 1, aStr("mode", "wrap")), inputs: []*graph.Tensor{x, pads(0, 0, 0, 0)}, wantErr: `unsupported mode "wrap"`},
	})
	_, err := runNodeDynamic(t, mk("Pad", 2, 1, aStr("mode", "reflect")), f32([]int{0, 2}), i64([]int{4}, 1, 0, 0, 0))
	require.ErrorContains(t, err, `Pad "n": reflect padding of an empty axis 0`)
	_, err = runNodeDynamic(t, mk("Pad", 2, 1), x, i64([]int{4}, 1<<40, 0, 0, 0))
	require.ErrorContains(t, err, "give axis 0")
}
