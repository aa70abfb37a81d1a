package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestIndexBounds(t *testing.T) {
	nd := func(op string, in []string, out string) *graph.Node {
		return &graph.Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}
	}
	ids := func(name string) *graph.Value {
		return &graph.Value{Name: name, DType: graph.Int64, HasShape: true, Shape: graph.ShapeOf(2, 7)}
	}
	emb := graph.NewTensor(graph.Float32, []int{100, 8})
	pos := graph.NewTensor(graph.Float32, []int{50, 8})
	qemb := graph.NewTensor(graph.Int8, []int{30, 8})
	axis1 := nd("Gather", []string{"wide", "col"}, "g4")
	axis1.SetAttrInt("axis", 1)
	for _, c := range []struct {
		name  string
		in    []*graph.Value
		nodes []*graph.Node
		want  map[string]int
	}{
		{"embedding", []*graph.Value{ids("tok")}, []*graph.Node{nd("Gather", []string{"emb", "tok"}, "e")},
			map[string]int{"tok": 100}},
		{"smallest of two tables, through Cast and Reshape", []*graph.Value{ids("tok")}, []*graph.Node{
			nd("Gather", []string{"emb", "tok"}, "e"), nd("Cast", []string{"tok"}, "t32"),
			nd("Reshape", []string{"t32", "shape"}, "flat"), nd("Gather", []string{"pos", "flat"}, "p")},
			map[string]int{"tok": 50}},
		{"int8 table behind DequantizeLinear", []*graph.Value{ids("tok")}, []*graph.Node{
			nd("DequantizeLinear", []string{"qemb", "s", "z"}, "deq"), nd("Gather", []string{"deq", "tok"}, "e")},
			map[string]int{"tok": 30}},
		{"gathered axis 1", []*graph.Value{ids("col")}, []*graph.Node{axis1}, map[string]int{"col": 8}},
		{"not indices: the data input of a Gather, or an Add", []*graph.Value{ids("tok")}, []*graph.Node{
			nd("Gather", []string{"tok", "other"}, "g"), nd("Add", []string{"tok", "tok"}, "a"),
			nd("Gather", []string{"emb", "a"}, "e")},
			map[string]int{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &graph.Graph{Inputs: c.in, Nodes: c.nodes, Values: map[string]*graph.Value{
				"wide": {Name: "wide", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(4, 8)}},
				Initializers: map[string]*graph.Tensor{"emb": emb, "pos": pos, "qemb": qemb}}
			assert.Equal(t, c.want, IndexBounds(g))
		})
	}
}

// Token ids are drawn below the table's row count, all of it is used, and an
// integer input that indexes nothing is refused with its name.
func TestSyntheticInputsGraphIndices(t *testing.T) {
	g := &graph.Graph{
		Inputs: []*graph.Value{
			{Name: "tok", DType: graph.Int64, HasShape: true, Shape: []graph.Dim{{Size: -1, Param: "N"}, {Size: 400}}},
			{Name: "x", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(1, 4)},
		},
		Nodes:        []*graph.Node{{Name: "g", OpType: "Gather", Inputs: []string{"emb", "tok"}, Outputs: []string{"e"}}},
		Initializers: map[string]*graph.Tensor{"emb": graph.NewTensor(graph.Float32, []int{5, 3})},
	}
	in, err := SyntheticInputsGraph(g, g.Inputs, 2, nil, 1)
	require.NoError(t, err)
	tok := in["tok"]
	assert.Equal(t, []int{2, 400}, tok.Shape)
	seen := map[int64]bool{}
	for _, v := range tok.Data.([]int64) {
		require.GreaterOrEqual(t, v, int64(0))
		require.Less(t, v, int64(5))
		seen[v] = true
	}
	assert.Len(t, seen, 5)
	assert.Equal(t, []int{1, 4}, in["x"].Shape)

	_, err = SyntheticInputsFor(g.Inputs, 2, nil, 1)
	assert.ErrorContains(t, err, `input "tok"`)
}
