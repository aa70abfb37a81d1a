package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ifModel(cond *Tensor) *Model {
	// then: t = Relu(x) (reads x from the outer scope; "clash" is also defined
	// outside, so inlining must rename it); else: e = Neg(x).
	then := &Graph{Name: "then", Initializers: map[string]*Tensor{}, Values: map[string]*Value{},
		Nodes: []*Node{
			{Name: "r", OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"clash"}, Attrs: map[string]*Attr{}},
			{Name: "i", OpType: "Identity", Inputs: []string{"clash"}, Outputs: []string{"t"}, Attrs: map[string]*Attr{}},
		},
		Outputs: []*Value{{Name: "t", DType: Float32}}}
	els := &Graph{Name: "else", Initializers: map[string]*Tensor{}, Values: map[string]*Value{},
		Nodes:   []*Node{{Name: "n", OpType: "Neg", Inputs: []string{"x"}, Outputs: []string{"e"}, Attrs: map[string]*Attr{}}},
		Outputs: []*Value{{Name: "e", DType: Float32}}}
	g := &Graph{Initializers: map[string]*Tensor{}, Values: map[string]*Value{},
		Inputs:  []*Value{{Name: "in", DType: Float32, HasShape: true, Shape: ShapeOf(2, 3)}},
		Outputs: []*Value{{Name: "y", DType: Float32}, {Name: "clash", DType: Float32}},
		Nodes: []*Node{
			{Name: "the_if", OpType: "If", Inputs: []string{"c"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{
				"then_branch": {Name: "then_branch", Type: AttrGraph, G: then},
				"else_branch": {Name: "else_branch", Type: AttrGraph, G: els}}},
			{Name: "x", OpType: "Identity", Inputs: []string{"in"}, Outputs: []string{"x"}, Attrs: map[string]*Attr{}},
			{Name: "clash", OpType: "Sigmoid", Inputs: []string{"in"}, Outputs: []string{"clash"}, Attrs: map[string]*Attr{}},
		}}
	if cond != nil {
		g.Initializers["c"] = cond
	} else {
		g.Inputs = append(g.Inputs, &Value{Name: "c", DType: Bool, HasShape: true})
	}
	return &Model{Graph: g, Opsets: map[string]int64{"": 13}}
}

func TestSubgraphImplicitInputs(t *testing.T) {
	m := ifModel(nil)
	n := m.Graph.Nodes[0]
	assert.Equal(t, []string{"x"}, n.ImplicitInputs())
	// The If reads x inside its branches: sorting puts x's producer first, and
	// dead-code removal keeps it.
	require.NoError(t, m.Graph.TopoSort())
	assert.Equal(t, "x", m.Graph.Nodes[0].Name)
	m.Graph.RemoveUnused()
	assert.Len(t, m.Graph.Nodes, 3)
	assert.Contains(t, m.Graph.Consumers()["x"], n)

	// Renaming a value renames the branches' reads of it, not the values they define.
	c := m.Clone()
	c.Graph.ReplaceInput("x", "in")
	var cif *Node
	for _, k := range c.Graph.Nodes {
		if k.OpType == "If" {
			cif = k
		}
	}
	assert.Equal(t, []string{"in"}, cif.ImplicitInputs())
	assert.Equal(t, []string{"x"}, n.ImplicitInputs(), "the clone has its own subgraphs")

	// Round trip through ONNX keeps the subgraphs.
	data, err := m.Encode()
	require.NoError(t, err)
	m2, err := Decode(data)
	require.NoError(t, err)
	sub := m2.Graph.Nodes[1].Subgraphs()
	require.Len(t, sub, 2)
	assert.Equal(t, "else", sub[0].Name)
	assert.Equal(t, "then", sub[1].Name)

	_, err = m2.InferShapes(InferOptions{Eval: NoFold{}})
	require.NoError(t, err)
	assert.Equal(t, "[2,3]", m2.Graph.Values["y"].Shape.String())
}

func TestConstantIfIsInlined(t *testing.T) {
	for _, c := range []struct {
		cond bool
		op   string
	}{{true, "Relu"}, {false, "Neg"}} {
		m := ifModel(&Tensor{DType: Bool, Data: []bool{c.cond}})
		_, err := m.InferShapes(InferOptions{Eval: NoFold{}})
		require.NoError(t, err)
		var ops []string
		for _, n := range m.Graph.Nodes {
			ops = append(ops, n.OpType)
			assert.NotEqual(t, "If", n.OpType)
		}
		assert.Contains(t, ops, c.op)
		prod := m.Graph.Producers()
		require.NotNil(t, prod["y"], "the branch writes the If's output")
		assert.Equal(t, "Sigmoid", prod["clash"].OpType, "the outer clash keeps its name")
		assert.Equal(t, "[2,3]", m.Graph.Values["y"].Shape.String())
		require.NoError(t, m.Graph.TopoSort())
	}
}

func TestIfBranchesDisagree(t *testing.T) {
	m := ifModel(nil)
	els := m.Graph.Nodes[0].Attrs["else_branch"].G
	els.Nodes = append(els.Nodes, &Node{OpType: "Cast", Inputs: []string{"e"}, Outputs: []string{"e64"}, Attrs: map[string]*Attr{"to": IntAttr("to", int64(Int64))}})
	els.Outputs[0] = &Value{Name: "e64"}
	_, err := m.InferShapes(InferOptions{Eval: NoFold{}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `If "the_if"`)
	assert.Contains(t, err.Error(), "the branches give")
}

// torch.onnx's squeeze(dim) of a tensor with a data-dependent row count:
// If(Equal(Gather(Shape(x), 1), 1)) is decided by the known dimension 1 although
// dimension 0 is unknown, and inlined.
func TestSqueezeGuardOnPartlyKnownShapeIsInlined(t *testing.T) {
	one := &Tensor{DType: Int64, Shape: []int{1}, Data: []int64{1}}
	then := &Graph{Name: "then", Initializers: map[string]*Tensor{"ax": one}, Values: map[string]*Value{},
		Nodes:   []*Node{{Name: "sq", OpType: "Squeeze", Inputs: []string{"x", "ax"}, Outputs: []string{"s"}, Attrs: map[string]*Attr{}}},
		Outputs: []*Value{{Name: "s", DType: Float32}}}
	els := &Graph{Name: "else", Initializers: map[string]*Tensor{}, Values: map[string]*Value{},
		Nodes:   []*Node{{Name: "id", OpType: "Identity", Inputs: []string{"x"}, Outputs: []string{"e"}, Attrs: map[string]*Attr{}}},
		Outputs: []*Value{{Name: "e", DType: Float32}}}
	g := &Graph{Initializers: map[string]*Tensor{"i1": one, "c1": one}, Values: map[string]*Value{},
		Inputs:  []*Value{{Name: "x", DType: Float32, HasShape: true, Shape: Shape{{Size: -1, Param: "boxes"}, {Size: 1}}}},
		Outputs: []*Value{{Name: "y", DType: Float32}},
		Nodes: []*Node{
			{Name: "shape", OpType: "Shape", Inputs: []string{"x"}, Outputs: []string{"sh"}, Attrs: map[string]*Attr{}},
			{Name: "g", OpType: "Gather", Inputs: []string{"sh", "i1"}, Outputs: []string{"d"}, Attrs: map[string]*Attr{}},
			{Name: "eq", OpType: "Equal", Inputs: []string{"d", "c1"}, Outputs: []string{"c"}, Attrs: map[string]*Attr{}},
			{Name: "guard", OpType: "If", Inputs: []string{"c"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{
				"then_branch": {Name: "then_branch", Type: AttrGraph, G: then},
				"else_branch": {Name: "else_branch", Type: AttrGraph, G: els}}},
		}}
	m := &Model{Graph: g, Opsets: map[string]int64{"": 13}}
	_, err := m.InferShapes(InferOptions{Eval: evalGatherEqual{}})
	require.NoError(t, err)
	for _, n := range m.Graph.Nodes {
		assert.NotEqual(t, "If", n.OpType)
	}
	assert.Equal(t, "Squeeze", m.Graph.Producers()["y"].OpType)
	assert.Equal(t, "[boxes]", m.Graph.Values["y"].Shape.String())
}

// evalGatherEqual folds the two operators the test needs (graph has no kernels).
type evalGatherEqual struct{}

func (evalGatherEqual) EvalConst(n *Node, _ int64, in []*Tensor) ([]*Tensor, error) {
	switch n.OpType {
	case "Gather":
		d, i := in[0].Data.([]int64), in[1].Data.([]int64)
		out := make([]int64, len(i))
		for k, j := range i {
			out[k] = d[j]
		}
		return []*Tensor{{DType: Int64, Shape: append([]int(nil), in[1].Shape...), Data: out}}, nil
	case "Equal":
		a, b := in[0].Data.([]int64), in[1].Data.([]int64)
		return []*Tensor{{DType: Bool, Shape: []int{1}, Data: []bool{a[0] == b[0]}}}, nil
	}
	return nil, nil
}
