package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestQConvBuildErrors checks that QConv and QConvTranspose refuse operands they
// cannot use with an error naming the problem, instead of ignoring them.
func TestQConvBuildErrors(t *testing.T) {
	w := graph.NewTensor(graph.Int8, []int{4, 4, 3, 3})
	xv := &graph.Value{Name: "x", DType: graph.Int8}
	biasV := &graph.Value{Name: "b", DType: graph.Int32}
	cases := []struct {
		name    string
		consts  []*graph.Tensor
		inputs  []*graph.Value
		attrs   []*graph.Attr
		wantErr string
	}{
		{name: "weights not constant", consts: []*graph.Tensor{nil, nil}, inputs: []*graph.Value{xv, {Name: "w"}}, wantErr: "weights must be a constant"},
		{name: "weights not int8", consts: []*graph.Tensor{nil, graph.NewTensor(graph.Float32, []int{4, 4, 3, 3})}, wantErr: "weights must be int8"},
		{name: "bias not constant", consts: []*graph.Tensor{nil, w, nil}, inputs: []*graph.Value{xv, nil, biasV}, wantErr: "bias must be a constant"},
		{name: "bias of the wrong length", consts: []*graph.Tensor{nil, w, graph.NewTensor(graph.Int32, []int{3})}, wantErr: "bias must be int32 with 4 values"},
		{name: "bias not int32", consts: []*graph.Tensor{nil, w, graph.NewTensor(graph.Float32, []int{4})}, wantErr: "bias must be int32"},
		{name: "zero point outside int8", consts: []*graph.Tensor{nil, w}, attrs: []*graph.Attr{graph.IntsAttr("x_zp", []int{300})}, wantErr: "outside the int8 range"},
	}
	for _, op := range []string{"QConv", "QConvTranspose"} {
		build := buildQConv
		if op == "QConvTranspose" {
			build = buildQConvTranspose
		}
		for _, tc := range cases {
			t.Run(op+"/"+tc.name, func(t *testing.T) {
				n := &graph.Node{Name: "q", OpType: op, Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
				for _, a := range tc.attrs {
					n.Attrs[a.Name] = a
				}
				_, err := build(&BuildContext{Node: n, Consts: tc.consts, Inputs: tc.inputs})
				require.ErrorContains(t, err, tc.wantErr)
			})
		}
	}
}
