package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestResizeOps(t *testing.T) {
	x := f32([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	scales := f32([]int{4}, 1, 1, 2, 2)
	nearest2x := f32([]int{1, 1, 4, 4}, 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4)
	resize := func(attrs ...*graph.Attr) *graph.Node {
		n := mk("Resize", 3, 1, attrs...)
		n.Inputs[1] = ""
		return n
	}
	sized := func(attrs ...*graph.Attr) *graph.Node {
		n := mk("Resize", 4, 1, attrs...)
		n.Inputs[1], n.Inputs[2] = "", ""
		return n
	}
	runNodeCases(t, []nodeCase{
		{name: "nearest 2x", node: resize(), inputs: []*graph.Tensor{x, nil, scales}, want: []*graph.Tensor{nearest2x}},
		{name: "nearest int8 keeps type", node: resize(), inputs: []*graph.Tensor{i8([]int{1, 1, 1, 2}, -1, 5), nil, f32([]int{4}, 1, 1, 1, 2)},
			want: []*graph.Tensor{i8([]int{1, 1, 1, 4}, -1, -1, 5, 5)}},
		{name: "linear half_pixel", node: resize(aStr("mode", "linear")), inputs: []*graph.Tensor{f32([]int{1, 2}, 1, 3), nil, f32([]int{2}, 1, 2)},
			want: []*graph.Tensor{f32([]int{1, 4}, 1, 1.5, 2.5, 3)}},
		{name: "linear align_corners", node: resize(aStr("mode", "linear"), aStr("coordinate_transformation_mode", "align_corners")),
			inputs: []*graph.Tensor{f32([]int{1, 2}, 1, 4), nil, f32([]int{2}, 1, 2)},
			want:   []*graph.Tensor{f32([]int{1, 4}, 1, 2, 3, 4)}},
		{name: "linear asymmetric", node: resize(aStr("mode", "linear"), aStr("coordinate_transformation_mode", "asymmetric")),
			inputs: []*graph.Tensor{f32([]int{2}, 1, 3), nil, f32([]int{1}, 2)},
			want:   []*graph.Tensor{f32([]int{4}, 1, 2, 3, 3)}},
		{name: "nearest sizes downsample", node: sized(aStr("nearest_mode", "floor"), aStr("coordinate_transformation_mode", "asymmetric")),
			inputs: []*graph.Tensor{f32([]int{1, 4}, 1, 2, 3, 4), nil, nil, i64([]int{2}, 1, 2)},
			want:   []*graph.Tensor{f32([]int{1, 2}, 1, 3)}},
		{name: "empty scales with sizes", node: mk("Resize", 4, 1), inputs: []*graph.Tensor{f32([]int{2}, 1, 2), f32([]int{0}), f32([]int{0}), i64([]int{1}, 4)},
			want: []*graph.Tensor{f32([]int{4}, 1, 1, 2, 2)}},
		{name: "crop and resize extrapolates", node: mk("Resize", 4, 1, aStr("mode", "linear"), aStr("coordinate_transformation_mode", "tf_crop_and_resize"), aFloat("extrapolation_value", -1)),
			inputs: []*graph.Tensor{f32([]int{3}, 0, 10, 20), f32([]int{2}, 0.5, 1.5), f32([]int{0}), i64([]int{1}, 3)},
			want:   []*graph.Tensor{f32([]int{3}, 10, 20, -1)}},
		{name: "float16 linear", node: resize(aStr("mode", "linear")), inputs: []*graph.Tensor{f16([]int{2}, 1, 3), nil, f32([]int{1}, 2)},
			want: []*graph.Tensor{f16([]int{4}, 1, 1.5, 2.5, 3)}},
		{name: "resize 10 nearest", opset: 10, node: mk("Resize", 2, 1), inputs: []*graph.Tensor{x, scales}, want: []*graph.Tensor{nearest2x}},
		{name: "upsample 9", opset: 9, node: mk("Upsample", 2, 1), inputs: []*graph.Tensor{x, scales}, want: []*graph.Tensor{nearest2x}},
		{name: "upsample 7 bilinear", opset: 7, node: mk("Upsample", 1, 1, aStr("mode", "bilinear"), &graph.Attr{Name: "scales", Type: graph.AttrFloats, Floats: []float32{1, 2}}),
			inputs: []*graph.Tensor{f32([]int{1, 2}, 1, 3)}, want: []*graph.Tensor{f32([]int{1, 4}, 1, 2, 3, 3)}},
		{name: "identity scales", node: resize(aStr("mode", "cubic")), inputs: []*graph.Tensor{x, nil, f32([]int{4}, 1, 1, 1, 1)}, want: []*graph.Tensor{x}},
		{name: "upsample below 1", opset: 9, node: mk("Upsample", 2, 1), inputs: []*graph.Tensor{x, f32([]int{4}, 1, 1, 0.5, 1)},
			wantErr: "Upsample scales must be at least 1"},
		{name: "scales and sizes", node: mk("Resize", 4, 1), inputs: []*graph.Tensor{f32([]int{2}, 1, 2), f32([]int{0}), f32([]int{1}, 2), i64([]int{1}, 4)},
			wantErr: "both scales and sizes"},
		{name: "wrong scales length", node: resize(), inputs: []*graph.Tensor{x, nil, f32([]int{2}, 2, 2)}, wantErr: "has 2 values, input has rank 4"},
		{name: "negative scale", node: resize(), inputs: []*graph.Tensor{x, nil, f32([]int{4}, 1, 1, -2, 2)}, wantErr: "must be positive"},
		{name: "linear on int", node: resize(aStr("mode", "linear")), inputs: []*graph.Tensor{i32([]int{2}, 1, 2), nil, f32([]int{1}, 2)}, wantErr: "unsupported input type int32"},
		{name: "unknown mode", node: resize(aStr("mode", "area")), inputs: []*graph.Tensor{x, nil, scales}, wantErr: `unsupported mode "area"`},
	})
}

// TestResizeCubicLinearRamp checks 2-D bicubic interpolation (done one axis at a
// time) on a linear ramp, which the Keys kernel with a = -0.5 reproduces exactly where
// no tap is clamped at the border.
func TestResizeCubicLinearRamp(t *testing.T) {
	x := f32([]int{1, 1, 4, 4}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
	n := mk("Resize", 3, 1, aStr("mode", "cubic"), aStr("coordinate_transformation_mode", "asymmetric"), aFloat("cubic_coeff_a", -0.5))
	n.Inputs[1] = ""
	got, err := runSingleNode(t, 13, n, x, nil, f32([]int{4}, 1, 1, 2, 2))
	require.NoError(t, err)
	y := got[0].F32()
	require.Equal(t, []int{1, 1, 8, 8}, got[0].Shape)
	for i := 2; i < 5; i++ {
		for j := 2; j < 5; j++ {
			want := 1 + float64(i)/2*4 + float64(j)/2
			require.InDelta(t, want, y[i*8+j], 1e-5, "y[%d][%d]", i, j)
		}
	}
}
