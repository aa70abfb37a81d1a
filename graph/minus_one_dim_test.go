package graph

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/onnx/onnxpb"
)

// TestMinusOneDimIsSymbolic checks that a dim_value of -1 (paddle2onnx's spelling
// of a run-time size, --unseen10's paddle_unpool_op11) loads as an unnamed
// symbolic size, as ONNX Runtime reads it, and that other negative sizes are
// still refused.
func TestMinusOneDimIsSymbolic(t *testing.T) {
	cases := []struct {
		name string
		dims []int64
		want Shape
		err  string
	}{
		{name: "batch -1", dims: []int64{-1, 3}, want: Shape{{Size: -1}, {Size: 3}}},
		{name: "all -1", dims: []int64{-1, -1}, want: Shape{{Size: -1}, {Size: -1}}},
		{name: "-2 refused", dims: []int64{-2, 3}, err: "negative dimension -2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := tensorVI("x", Float32, tc.dims...)
			y := tensorVI("y", Float32, tc.dims...)
			m, err := Decode(encodeP(t, modelP([]*onnxpb.NodeProto{nodeP("Relu", []string{"x"}, []string{"y"})},
				[]*onnxpb.ValueInfoProto{x}, []*onnxpb.ValueInfoProto{y})))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, m.Graph.Values["x"].Shape)
			bound, err := m.WithInputShapes(map[string][]int{"x": {2, 3}})
			require.NoError(t, err)
			require.NoError(t, bound.Validate(NoFold{}))
			require.Equal(t, ShapeOf(2, 3), bound.Graph.Values["y"].Shape)
		})
	}
}
