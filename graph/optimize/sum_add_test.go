package optimize_test

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
	"github.com/warboy-sim/warboy/runtime"
)

// sumModel is three branches of x [2, 4, 5, 5] (Relu, Sigmoid, and a [4, 1, 1]
// per-channel bias broadcast from an initializer) joined by one Sum, as
// paddle2onnx writes a multi-branch join, then a Relu.
func sumModel(rng *rand.Rand, opset int64, inputs []string) *graph.Model {
	g := &graph.Graph{
		Name: "sum",
		Nodes: []*graph.Node{
			node("Relu", []string{"x"}, []string{"a"}),
			node("Sigmoid", []string{"x"}, []string{"b"}),
			node("Sum", inputs, []string{"s"}),
			node("Relu", []string{"s"}, []string{"y"}),
		},
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(2, 4, 5, 5), HasShape: true}},
		Outputs:      []*graph.Value{{Name: "y", DType: graph.Float32}},
		Initializers: map[string]*graph.Tensor{"bias": randF32(rng, 4, 1, 1)},
		Values:       map[string]*graph.Value{},
	}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": opset}, Metadata: map[string]string{}}
}

func TestSumToAdds(t *testing.T) {
	for _, c := range []struct {
		name   string
		opset  int64
		inputs []string
		adds   int // Adds after the rewrite (0: the Sum stays)
	}{
		{"three inputs, one broadcast", 13, []string{"a", "b", "bias"}, 2},
		{"broadcast first", 11, []string{"bias", "a", "b"}, 2},
		{"two inputs", 13, []string{"a", "b"}, 1},
		{"the same input twice", 13, []string{"a", "a", "x"}, 2},
		{"one input (an Identity)", 13, []string{"b"}, 0},
		{"opset 7 left alone", 7, []string{"a", "b", "x"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(4))
			src := sumModel(rng, c.opset, c.inputs)
			in := map[string]*graph.Tensor{"x": randF32(rng, 2, 4, 5, 5)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			assert.Equal(t, c.adds, ops["Add"], st.String())
			if c.opset >= 8 {
				assert.Equal(t, 1, st.Sums, st.String())
				assert.Zero(t, ops["Sum"])
				assert.Zero(t, ops["Identity"], "a one-input Sum is removed as an Identity")
			} else {
				assert.Zero(t, st.Sums)
				assert.Equal(t, 1, ops["Sum"])
			}
			// The optimised graph runs as it is (no second optimisation) and
			// computes the same values: Sum accumulates left to right as the Adds do.
			got := run(t, m, in)
			require.Equal(t, want["y"].Shape, got["y"].Shape)
			assert.Equal(t, want["y"].F32(), got["y"].F32())
		})
	}
}

// A Sum whose output is a graph output keeps the name; the partial sums get
// fresh names that no other tensor has.
func TestSumToAddsNames(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	// The Sigmoid writes the name the first partial sum would take.
	m := sumModel(rng, 13, []string{"a", "s_node_partial", "bias"})
	m.Graph.Nodes[1].Outputs = []string{"s_node_partial"}
	m.Graph.Nodes = m.Graph.Nodes[:3]
	m.Graph.Outputs = []*graph.Value{{Name: "s", DType: graph.Float32}}
	_, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
	require.NoError(t, err)
	var adds []*graph.Node
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Add" {
			adds = append(adds, n)
		}
	}
	require.Len(t, adds, 2)
	assert.Equal(t, []string{"a", "s_node_partial"}, adds[0].Inputs)
	assert.Equal(t, "s_node_partial_1", adds[0].Outputs[0])
	assert.Equal(t, []string{"s_node_partial_1", "bias"}, adds[1].Inputs)
	assert.Equal(t, "s", adds[1].Outputs[0])
	assert.Equal(t, "s_node", adds[1].Name)
	v := m.Graph.Values["s_node_partial_1"]
	require.NotNil(t, v)
	assert.True(t, v.HasShape)
	assert.Equal(t, "[2,4,5,5]", v.Shape.String())
}
