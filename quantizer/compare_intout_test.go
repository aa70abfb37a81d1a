package quantizer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// An output that is not float32 (ArgMax indices; NonZero and counts in exported
// post-processing) has no quantization encoding: compare measures its values as they
// are instead of failing ("tensor is int64 and the model records no encoding"), and
// does not treat indices as class scores.
func TestCompareIntegerOutput(t *testing.T) {
	m0, q0 := quantizedCNN(t)
	m, q := m0.Clone(), q0.Clone()
	for _, mm := range []*graph.Model{m, q} {
		g := mm.Graph
		g.Nodes = append(g.Nodes, &graph.Node{Name: "argmax", OpType: "ArgMax", Inputs: []string{"logits"},
			Outputs: []string{"class"}, Attrs: map[string]*graph.Attr{}})
		g.Nodes[len(g.Nodes)-1].SetAttrInt("axis", 1)
		g.Outputs = append(g.Outputs, &graph.Value{Name: "class", DType: graph.Int64})
	}
	_, test := fmnist(t)
	res, err := Compare(m, q, dsBatches{test, "input"}, 40, CompareOptions{BatchSize: 20})
	require.NoError(t, err)
	var found bool
	for _, o := range res.Top1 {
		if o.Output != "class" {
			continue
		}
		found = true
		assert.Zero(t, o.Classes, "indices are not class scores")
		assert.EqualValues(t, 40, o.Values)
		assert.Equal(t, [][]int{{20, 1}}, o.Shapes)
		assert.Greater(t, o.Cosine, 0.9)
	}
	assert.True(t, found, "the int64 output is compared")
}
