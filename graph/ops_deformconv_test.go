package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInferDeformConv: a Conv's output size from the kernel, strides, pads and
// dilations; symbolic batch and spatial sizes stay symbolic or unknown (never
// guessed); offset and mask sizes that disagree are errors naming the node.
func TestInferDeformConv(t *testing.T) {
	for _, tc := range []struct {
		name          string
		x, off, mask  Shape
		strides, pads []int
		og            int64
		want, err     string
	}{
		{"3x3 pad 1", ShapeOf(1, 4, 6, 7), ShapeOf(1, 18, 6, 7), ShapeOf(1, 9, 6, 7), []int{1, 1}, []int{1, 1, 1, 1}, 1, "[1,2,6,7]", ""},
		{"stride 2 offset groups", ShapeOf(2, 4, 9, 9), ShapeOf(2, 36, 4, 4), nil, []int{2, 2}, []int{0, 0, 0, 0}, 2, "[2,2,4,4]", ""},
		{"symbolic sizes", Shape{{Param: "N", Size: -1}, {Size: 4}, {Param: "H", Size: -1}, {Size: 8}},
			Shape{{Param: "N", Size: -1}, {Size: 18}, {Size: -1}, {Size: 8}}, nil, []int{1, 1}, []int{1, 1, 1, 1}, 1, "[N,2,?,8]", ""},
		{"offset channels", ShapeOf(1, 4, 6, 6), ShapeOf(1, 9, 6, 6), nil, []int{1, 1}, []int{1, 1, 1, 1}, 1, "", "offset has shape [1,9,6,6], expected [N, 18, 6, 6]"},
		{"mask size", ShapeOf(1, 4, 6, 6), ShapeOf(1, 18, 6, 6), ShapeOf(1, 9, 5, 6), []int{1, 1}, []int{1, 1, 1, 1}, 1, "", "mask has shape"},
		{"offset group divides channels", ShapeOf(1, 4, 6, 6), ShapeOf(1, 54, 6, 6), nil, []int{1, 1}, []int{1, 1, 1, 1}, 3, "", "offset_group 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &Graph{Name: "g", Initializers: map[string]*Tensor{}, Values: map[string]*Value{}}
			g.Inputs = []*Value{{Name: "x", DType: Float32, Shape: tc.x, HasShape: true},
				{Name: "off", DType: Float32, Shape: tc.off, HasShape: true}}
			ins := []string{"x", "w", "off"}
			if tc.mask != nil {
				g.Inputs = append(g.Inputs, &Value{Name: "mask", DType: Float32, Shape: tc.mask, HasShape: true})
				ins = append(ins, "", "mask")
			}
			g.Initializers["w"] = FromFloat32([]int{2, 4, 3, 3}, make([]float32, 72))
			g.Outputs = []*Value{{Name: "y"}}
			g.Nodes = []*Node{{Name: "dcn", OpType: "DeformConv", Inputs: ins, Outputs: []string{"y"}, Attrs: map[string]*Attr{
				"strides": IntsAttr("strides", tc.strides), "pads": IntsAttr("pads", tc.pads), "offset_group": IntAttr("offset_group", tc.og)}}}
			m := &Model{Graph: g, IRVersion: 9, Opsets: map[string]int64{"": 19}}
			b, err := m.Encode()
			require.NoError(t, err)
			m, err = Decode(b)
			require.NoError(t, err)
			_, err = m.InferShapes(InferOptions{Eval: NoFold{}})
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				assert.Contains(t, err.Error(), `DeformConv "dcn"`)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, m.Graph.Values["y"].Shape.String())
		})
	}
}
