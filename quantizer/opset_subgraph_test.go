package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// An opset-11 model whose If branches use attribute-form Unsqueeze/Squeeze (as
// torch.onnx writes torchvision detectors' post-processing) is upgraded to opset
// 13 inside the branches too, and still computes the same values. Before, the
// top-level nodes were rewritten but not the branches, and quantize failed with
// `Unsqueeze ...: unsupported attribute "axes" at opset 13`.
func TestUpgradeOpsetRewritesSubgraphs(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var branch func(name, op string, axes int64, inner *graph.Graph) *graph.Graph
	branch = func(name, op string, axes int64, inner *graph.Graph) *graph.Graph {
		g := &graph.Graph{Name: name, Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{},
			Nodes:   []*graph.Node{node(op, []string{"m"}, []string{name + "_y"}, ints("axes", axes))},
			Outputs: []*graph.Value{{Name: name + "_y", DType: graph.Float32}}}
		if inner != nil {
			// A nested If: the rewrite recurses.
			g.Nodes = []*graph.Node{{Name: name + "_if", OpType: "If", Inputs: []string{"c"}, Outputs: []string{name + "_y"},
				Attrs: map[string]*graph.Attr{
					"then_branch": {Name: "then_branch", Type: graph.AttrGraph, G: inner},
					"else_branch": {Name: "else_branch", Type: graph.AttrGraph, G: branch(name+"_e", op, axes, nil)}}}}
		}
		return g
	}
	inner := branch("inner", "Unsqueeze", 0, nil)
	ifNode := &graph.Node{Name: "post", OpType: "If", Inputs: []string{"c"}, Outputs: []string{"y"},
		Attrs: map[string]*graph.Attr{
			"then_branch": {Name: "then_branch", Type: graph.AttrGraph, G: branch("then", "Unsqueeze", 0, inner)},
			"else_branch": {Name: "else_branch", Type: graph.AttrGraph, G: branch("else", "Unsqueeze", 0, nil)}}}
	m := newModel("x", []int{2, 3}, []string{"y"}, []*graph.Node{
		node("MatMul", []string{"x", "w"}, []string{"m"}),
		node("ReduceSum", []string{"m"}, []string{"s"}, ints("keepdims", 0)),
		node("Greater", []string{"s", "zero"}, []string{"c"}),
		ifNode,
	}, map[string]*graph.Tensor{"w": randTensor(rng, []int{3, 4}, 1), "zero": graph.FromFloat32(nil, []float32{0})})
	m.Opsets[""] = 11
	x := randTensor(rng, []int{2, 3}, 1)
	want := runFloat(t, m, map[string]*graph.Tensor{"x": x})["y"]

	up := m.Clone()
	require.NoError(t, upgradeOpset(up, 13))
	var seen int
	var walk func(g *graph.Graph)
	walk = func(g *graph.Graph) {
		for _, n := range g.Nodes {
			for _, sg := range n.Subgraphs() {
				walk(sg)
			}
			if n.OpType == "Unsqueeze" {
				seen++
				assert.False(t, n.HasAttr("axes"), n.Label())
				require.Len(t, n.Inputs, 2, n.Label())
				assert.Equal(t, []int64{0}, g.Initializers[n.Input(1)].I64(), "%s: axes input in its own subgraph", n.Label())
			}
		}
	}
	walk(up.Graph)
	assert.Equal(t, 3, seen)
	got := runFloat(t, up, map[string]*graph.Tensor{"x": x})["y"]
	require.Equal(t, want.Shape, got.Shape)
	assert.Less(t, maxAbsDiff(want.F32(), got.F32()), 1e-6)
}
