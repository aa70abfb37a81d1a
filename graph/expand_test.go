package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oneNodeModel encodes a model of node n over float input x [2, 3, 4] (and int64
// lens [2]) at the given opset, for reading back through FromONNX.
func oneNodeModel(t *testing.T, n *Node, opset int64) []byte {
	t.Helper()
	g := &Graph{Name: "g", Initializers: map[string]*Tensor{}, Values: map[string]*Value{}}
	g.Inputs = []*Value{
		{Name: "x", DType: Float32, Shape: ShapeOf(2, 3, 4), HasShape: true},
		{Name: "lens", DType: Int64, Shape: ShapeOf(2), HasShape: true},
	}
	g.Outputs = []*Value{{Name: "y", DType: Float32}}
	g.Initializers["w"] = FromFloat32([]int{3, 3, 1}, make([]float32, 9))
	g.Nodes = []*Node{n}
	m := &Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": opset, "com.microsoft": 1}}
	b, err := m.Encode()
	require.NoError(t, err)
	return b
}

// Expansions refuse what they cannot express with an error naming the node,
// when the model is read (no later "unsupported operator").
func TestExpandRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		node  *Node
		opset int64
		want  string
	}{
		{"fused conv activation", &Node{Name: "fc", OpType: "FusedConv", Domain: "com.microsoft", Inputs: []string{"x", "w"},
			Outputs: []string{"y"}, Attrs: map[string]*Attr{"activation": StringAttr("activation", "Selu")}}, 13,
			`FusedConv "fc": unsupported: activation "Selu"`},
		{"reverse sequence opset 10", &Node{Name: "rs", OpType: "ReverseSequence", Inputs: []string{"x", "lens"},
			Outputs: []string{"y"}, Attrs: map[string]*Attr{}}, 10, `ReverseSequence "rs": unsupported: ReverseSequence at opset 10`},
		{"reverse sequence axes", &Node{Name: "rs", OpType: "ReverseSequence", Inputs: []string{"x", "lens"}, Outputs: []string{"y"},
			Attrs: map[string]*Attr{"time_axis": IntAttr("time_axis", 2)}}, 13, "time_axis 2, batch_axis 1"},
		{"lp normalization p", &Node{Name: "lp", OpType: "LpNormalization", Inputs: []string{"x"}, Outputs: []string{"y"},
			Attrs: map[string]*Attr{"p": IntAttr("p", 3)}}, 11, "p=3"},
		{"nll reduction", &Node{Name: "nll", OpType: "NegativeLogLikelihoodLoss", Inputs: []string{"x", "lens"}, Outputs: []string{"y"},
			Attrs: map[string]*Attr{"reduction": StringAttr("reduction", "max")}}, 13, `reduction "max"`},
		{"optional of an inner value", &Node{Name: "has", OpType: "OptionalHasElement", Inputs: []string{"w"}, Outputs: []string{"y"},
			Attrs: map[string]*Attr{}}, 15, `OptionalHasElement of "w", which is not a graph input`},
		{"fused matmul batch transpose", &Node{Name: "fm", OpType: "FusedMatMul", Domain: "com.microsoft", Inputs: []string{"x", "x"},
			Outputs: []string{"y"}, Attrs: map[string]*Attr{"transBatchA": IntAttr("transBatchA", 1)}}, 13, "transBatchA"},
	} {
		_, err := Decode(oneNodeModel(t, tc.node, tc.opset))
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}

// An expansion keeps the node's output names and gives its own nodes and values
// names no other node or value has, also across several expanded nodes.
func TestExpandNamesUnique(t *testing.T) {
	g := &Graph{Name: "g", Initializers: map[string]*Tensor{}, Values: map[string]*Value{}}
	g.Inputs = []*Value{{Name: "x", DType: Float32, Shape: ShapeOf(2, 8), HasShape: true}}
	g.Outputs = []*Value{{Name: "y", DType: Float32}}
	g.Nodes = []*Node{
		{Name: "g", OpType: "Gelu", Domain: "com.microsoft", Inputs: []string{"x"}, Outputs: []string{"a"}, Attrs: map[string]*Attr{}},
		{Name: "g", OpType: "Gelu", Domain: "com.microsoft", Inputs: []string{"a"}, Outputs: []string{"b"}, Attrs: map[string]*Attr{}},
		{Name: "q", OpType: "QuickGelu", Domain: "com.microsoft", Inputs: []string{"b"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{}},
	}
	m := &Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13, "com.microsoft": 1}}
	b, err := m.Encode()
	require.NoError(t, err)
	got, err := Decode(b)
	require.NoError(t, err)
	names, outs := map[string]bool{}, map[string]bool{}
	for _, n := range got.Graph.Nodes {
		assert.False(t, names[n.Name], "node name %q twice", n.Name)
		names[n.Name] = true
		for _, o := range n.Outputs {
			assert.False(t, outs[o], "value %q written twice", o)
			outs[o] = true
		}
		assert.Empty(t, n.Domain)
	}
	assert.True(t, outs["a"] && outs["b"] && outs["y"], "the expanded nodes' outputs keep their names")
}
