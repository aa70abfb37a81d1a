package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// Resize-18's antialias, axes and keep_aspect_ratio_policy against ONNX Runtime 1.30
// (the expected values are its outputs on the same inputs, opset 18).
func TestResizeAntialiasAxesAsORT(t *testing.T) {
	ramp := f32([]int{1, 10}, 0, 1, 2.828427, 5.1961527, 8, 11.18034, 14.6969385, 18.520258, 22.627417, 27)
	sized := func(attrs ...*graph.Attr) *graph.Node {
		n := mk("Resize", 4, 1, attrs...)
		n.Inputs[1], n.Inputs[2] = "", ""
		return n
	}
	scaled := func(attrs ...*graph.Attr) *graph.Node {
		n := mk("Resize", 3, 1, attrs...)
		n.Inputs[1] = ""
		return n
	}
	aa := &graph.Attr{Name: "antialias", Type: graph.AttrInt, I: 1}
	ints := func(name string, v ...int64) *graph.Attr {
		return &graph.Attr{Name: name, Type: graph.AttrInts, Ints: v}
	}
	cells := make([]float32, 35)
	for i := range cells {
		cells[i] = float32(i)
	}
	grid := graph.FromFloat32([]int{7, 5}, cells)
	for _, tc := range []struct {
		name    string
		node    *graph.Node
		inputs  []*graph.Tensor
		want    *graph.Tensor
		wantErr string
	}{
		{"linear antialias 10 to 4", sized(aStr("mode", "linear"), aa), []*graph.Tensor{ramp, nil, nil, i64([]int{2}, 1, 4)},
			f32([]int{1, 4}, 1.1335315, 6.057941, 13.990541, 23.237799), ""},
		{"linear antialias by scales", scaled(aStr("mode", "linear"), aa), []*graph.Tensor{ramp, nil, f32([]int{2}, 1, 0.4)},
			f32([]int{1, 4}, 1.1335315, 6.057941, 13.990541, 23.237799), ""},
		{"linear antialias asymmetric", sized(aStr("mode", "linear"), aStr("coordinate_transformation_mode", "asymmetric"), aa),
			[]*graph.Tensor{ramp, nil, nil, i64([]int{2}, 1, 4)}, f32([]int{1, 4}, 0.4483405, 4.17486, 11.362225, 20.665382), ""},
		{"linear antialias align_corners 10 to 3", sized(aStr("mode", "linear"), aStr("coordinate_transformation_mode", "align_corners"), aa),
			[]*graph.Tensor{ramp, nil, nil, i64([]int{2}, 1, 3)}, f32([]int{1, 3}, 0.6914665, 9.87323, 24.740292), ""},
		{"cubic antialias", sized(aStr("mode", "cubic"), aa), []*graph.Tensor{ramp, nil, nil, i64([]int{2}, 1, 4)},
			f32([]int{1, 4}, 0.6836067, 5.747838, 13.781119, 23.89418), ""},
		{"cubic antialias exclude_outside", sized(aStr("mode", "cubic"), aa, &graph.Attr{Name: "exclude_outside", Type: graph.AttrInt, I: 1}),
			[]*graph.Tensor{ramp, nil, nil, i64([]int{2}, 1, 4)}, f32([]int{1, 4}, 0.7319128, 5.641219, 14.026321, 23.674717), ""},
		{"antialias upscaling interpolates as without it", sized(aStr("mode", "linear"), aa), []*graph.Tensor{ramp, nil, nil, i64([]int{2}, 1, 13)},
			f32([]int{1, 13}, 0, 0.6538461, 1.7735654, 3.2837589, 5.105087, 7.2451177, 9.59017, 12.127116, 14.843989, 17.785006, 20.889774, 24.141005, 27), ""},
		{"keep aspect not_larger: one coordinate scale", sized(aStr("mode", "linear"), aStr("keep_aspect_ratio_policy", "not_larger")),
			[]*graph.Tensor{grid, nil, nil, i64([]int{2}, 4, 4)},
			f32([]int{4, 3}, 2.25, 4, 5.75, 11, 12.75, 14.5, 19.75, 21.5, 23.25, 28.5, 30.25, 32), ""},
		{"axes -1 nearest by scales", scaled(ints("axes", -1)), []*graph.Tensor{f32([]int{2, 3}, 0, 1, 2, 3, 4, 5), nil, f32([]int{1}, 2)},
			f32([]int{2, 6}, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5), ""},
		{"antialias nearest refused", sized(aa), []*graph.Tensor{ramp, nil, nil, i64([]int{2}, 1, 4)}, nil, "antialias with mode nearest"},
		{"axes and scales of other lengths", scaled(ints("axes", 0, 1)), []*graph.Tensor{ramp, nil, f32([]int{1}, 2)}, nil, "scales [2] has 1 values for 2 axes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runSingleNode(t, 18, tc.node, tc.inputs...)
			if tc.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, CompareTensors(got[0], tc.want, Tolerance{Rtol: 1e-5, Atol: 1e-5}))
		})
	}
}

// The kept-aspect-ratio sizes: round(scale · in) with one scale for the listed axes
// (ONNX Runtime's shapes for a decoded 90x120 image, 75x50 and 75x51, sizes [64, 64]).
func TestResizeAxesFullAspectSizes(t *testing.T) {
	for _, tc := range []struct {
		in     []int
		policy string
		want   []int64
	}{
		{[]int{90, 120, 3}, "not_smaller", []int64{64, 85, 3}},
		{[]int{75, 50, 3}, "not_smaller", []int64{96, 64, 3}},
		{[]int{75, 51, 3}, "not_smaller", []int64{94, 64, 3}},
		{[]int{90, 120, 3}, "not_larger", []int64{48, 64, 3}},
		{[]int{90, 120, 3}, "stretch", []int64{64, 64, 3}},
		{[]int{-1, 120, 3}, "not_smaller", []int64{-1, -1, 3}},
	} {
		_, sizes, err := graph.ResizeAxesFull(tc.in, nil, []int64{64, 64}, []int64{0, 1}, tc.policy)
		require.NoError(t, err)
		require.Equal(t, tc.want, sizes, "%v %s", tc.in, tc.policy)
	}
}
