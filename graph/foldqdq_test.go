package graph

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFoldWeightQDQ(t *testing.T) {
	w := FromFloat32([]int{2, 3}, []float32{0.05, -0.26, 13, 0.3, -0.1, -40})
	mk := func(scale, zp *Tensor, axis int64) *Model {
		q := &Node{Name: "q", OpType: "QuantizeLinear", Inputs: []string{"w", "s", "z"}, Outputs: []string{"wq"}, Attrs: map[string]*Attr{}}
		dq := &Node{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"wq", "s", "z"}, Outputs: []string{"wd"}, Attrs: map[string]*Attr{}}
		if axis >= 0 {
			q.SetAttrInt("axis", axis)
			dq.SetAttrInt("axis", axis)
		}
		mm := &Node{Name: "mm", OpType: "MatMul", Inputs: []string{"x", "wd"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{}}
		g := &Graph{Nodes: []*Node{q, dq, mm}, Initializers: map[string]*Tensor{"w": w, "s": scale, "z": zp},
			Values: map[string]*Value{}, Inputs: []*Value{{Name: "x", DType: Float32}}, Outputs: []*Value{{Name: "y", DType: Float32}}}
		return &Model{Graph: g, Opsets: map[string]int64{"": 13}}
	}
	tests := []struct {
		name string
		m    *Model
		want *Tensor
	}{
		{"per channel int8 (axis 0)", mk(FromFloat32([]int{2}, []float32{0.1, 0.2}), FromInt8([]int{2}, []int8{0, 0}), 0),
			FromInt8([]int{2, 3}, []int8{0, -3, 127, 2, 0, -128})},
		{"per column int8 (axis 1)", mk(FromFloat32([]int{3}, []float32{0.1, 0.2, 0.5}), FromInt8([]int{3}, []int8{0, 1, 0}), 1),
			FromInt8([]int{2, 3}, []int8{0, 0, 26, 3, 1, -80})},
		{"per tensor uint8", mk(ScalarFloat32(0.25), FromUint8(nil, []uint8{128}), -1),
			FromUint8([]int{2, 3}, []uint8{128, 127, 180, 129, 128, 0})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := FoldWeightQDQ(tc.m)
			require.NotSame(t, tc.m, f)
			require.Len(t, tc.m.Graph.Nodes, 3, "the input model is not modified")
			require.Len(t, f.Graph.Nodes, 2)
			require.Equal(t, "DequantizeLinear", f.Graph.Nodes[0].OpType)
			require.Equal(t, tc.want, f.Graph.Initializers["wq"])
			require.Nil(t, f.Graph.Initializers["w"], "the float weight is no longer read")
		})
	}
	t.Run("activation QuantizeLinear is kept", func(t *testing.T) {
		m := mk(ScalarFloat32(0.25), FromInt8(nil, []int8{0}), -1)
		m.Graph.Nodes[0].Inputs[0] = "x"
		require.Same(t, m, FoldWeightQDQ(m))
	})
}
