package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestBitwiseOps(t *testing.T) {
	u8 := func(shape []int, v ...uint8) *graph.Tensor {
		return &graph.Tensor{DType: graph.Uint8, Shape: shape, Data: v}
	}
	i32 := func(shape []int, v ...int32) *graph.Tensor {
		return &graph.Tensor{DType: graph.Int32, Shape: shape, Data: v}
	}
	cases := []struct {
		name string
		op   string
		in   []*graph.Tensor
		want *graph.Tensor
	}{
		{"and, broadcast scalar mask", "BitwiseAnd", []*graph.Tensor{u8([]int{3}, 0xAB, 0x0F, 0xF0), u8(nil, 0x0F)}, u8([]int{3}, 0x0B, 0x0F, 0x00)},
		{"or int32 negative", "BitwiseOr", []*graph.Tensor{i32([]int{2}, -8, 5), i32([]int{2}, 3, 2)}, i32([]int{2}, -5, 7)},
		{"xor rows", "BitwiseXor", []*graph.Tensor{i32([]int{2, 2}, 1, 2, 3, 4), i32([]int{2}, 1, 1)}, i32([]int{2, 2}, 0, 3, 2, 5)},
		{"not uint8", "BitwiseNot", []*graph.Tensor{u8([]int{2}, 0, 0xF0)}, u8([]int{2}, 0xFF, 0x0F)},
		{"not int32", "BitwiseNot", []*graph.Tensor{i32([]int{2}, 0, -1)}, i32([]int{2}, -1, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &graph.Node{OpType: tc.op, Inputs: []string{"a", "b"}[:len(tc.in)], Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
			for _, consts := range [][]bool{nil, {true, true}} {
				got, err := runNodeWith(t, 18, 1, n, consts, tc.in...)
				require.NoError(t, err)
				assert.Equal(t, tc.want.DType, got[0].DType)
				assert.Equal(t, tc.want.Data, got[0].Data)
			}
		})
	}
	t.Run("float input refused", func(t *testing.T) {
		n := &graph.Node{Name: "band", OpType: "BitwiseAnd", Inputs: []string{"a", "b"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
		_, err := runNodeWith(t, 18, 1, n, nil, graph.FromFloat32([]int{1}, []float32{1}), graph.FromFloat32([]int{1}, []float32{1}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "band")
	})
}

func TestScatterMaxMin(t *testing.T) {
	data := graph.FromFloat32([]int{3, 2}, []float32{0, 0, 5, 5, -1, -1})
	cases := []struct {
		name, op, red string
		idx           *graph.Tensor
		upd           *graph.Tensor
		opset         int64
		want          []float32
		err           string
	}{
		{"elements max, duplicate indices", "ScatterElements", "max", graph.FromInt64([]int{3, 2}, []int64{0, 0, 0, 1, 2, 2}),
			graph.FromFloat32([]int{3, 2}, []float32{3, -2, 1, 7, -4, 2}), 18, []float32{3, 0, 5, 7, -1, 2}, ""},
		{"elements min", "ScatterElements", "min", graph.FromInt64([]int{2, 2}, []int64{1, 1, 1, 1}),
			graph.FromFloat32([]int{2, 2}, []float32{6, 4, 2, 9}), 18, []float32{0, 0, 2, 4, -1, -1}, ""},
		{"nd max rows", "ScatterND", "max", graph.FromInt64([]int{2, 1}, []int64{2, 2}),
			graph.FromFloat32([]int{2, 2}, []float32{-3, 4, 1, -7}), 18, []float32{0, 0, 5, 5, 1, 4}, ""},
		{"max before opset 18", "ScatterND", "max", graph.FromInt64([]int{1, 1}, []int64{0}),
			graph.FromFloat32([]int{1, 2}, []float32{1, 1}), 16, nil, "defined from opset 18 on"},
		{"unknown reduction", "ScatterND", "mean", graph.FromInt64([]int{1, 1}, []int64{0}),
			graph.FromFloat32([]int{1, 2}, []float32{1, 1}), 18, nil, "unsupported reduction \"mean\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &graph.Node{Name: "sc", OpType: tc.op, Inputs: []string{"d", "i", "u"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
			n.SetAttrString("reduction", tc.red)
			got, err := runNodeWith(t, tc.opset, 1, n, nil, data, tc.idx, tc.upd)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				assert.Contains(t, err.Error(), "sc")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got[0].F32())
		})
	}
}
