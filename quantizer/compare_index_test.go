package quantizer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// indexAcc against hand-counted agreements: equal elements, samples whose whole
// tensor is equal, TopK set overlap (order ignored), and a batch whose shapes
// differ (counted as samples that disagree, no element compared).
func TestIndexAgreementCounts(t *testing.T) {
	i64 := func(shape []int, v ...int64) *graph.Tensor { return graph.FromInt64(shape, v) }
	cases := []struct {
		name   string
		topK   bool
		f, q   *graph.Tensor
		bn     int
		want   IndexAgreement
		values int64
	}{
		{"equal", false, i64([]int{2, 3}, 1, 2, 3, 4, 5, 6), i64([]int{2, 3}, 1, 2, 3, 4, 5, 6), 2,
			IndexAgreement{Values: 6, Equal: 1, Samples: 2, SamplesEqual: 1}, 6},
		{"one sample off by one", false, i64([]int{2, 3}, 1, 2, 3, 4, 5, 6), i64([]int{2, 3}, 1, 2, 3, 4, 5, 7), 2,
			IndexAgreement{Values: 6, Equal: 5.0 / 6, Samples: 2, SamplesEqual: 0.5}, 6},
		{"batch not leading: one unit", false, i64([]int{3}, 1, 2, 3), i64([]int{3}, 1, 2, 4), 1,
			IndexAgreement{Values: 3, Equal: 2.0 / 3, Samples: 1, SamplesEqual: 0}, 3},
		{"TopK reordered", true, i64([]int{2, 2}, 7, 3, 1, 0), i64([]int{2, 2}, 3, 7, 1, 5), 2,
			IndexAgreement{Values: 4, Equal: 0.25, Samples: 2, SamplesEqual: 0, K: 2, SetOverlap: 0.75}, 4},
		{"shapes differ", false, i64([]int{1, 3}, 1, 2, 3), i64([]int{1, 2}, 1, 2), 1,
			IndexAgreement{Samples: 1}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it := indexTensor{name: "i", topK: tc.topK}
			var a indexAcc
			a.add(it, tc.f, tc.q, tc.bn)
			got := a.result(it)
			tc.want.Tensor = "i"
			assert.Equal(t, tc.values, got.Values)
			assert.InDelta(t, tc.want.Equal, got.Equal, 1e-12)
			assert.InDelta(t, tc.want.SamplesEqual, got.SamplesEqual, 1e-12)
			assert.InDelta(t, tc.want.SetOverlap, got.SetOverlap, 1e-12)
			assert.Equal(t, tc.want.Samples, got.Samples)
			assert.Equal(t, tc.want.K, got.K)
		})
	}
}

// Compare reports the agreement of an ArgMax output and of an ArgMax inside the
// model (an index tensor both models compute under one name).
func TestCompareReportsIndexAgreement(t *testing.T) {
	m0, q0 := quantizedCNN(t)
	m, q := m0.Clone(), q0.Clone()
	for _, mm := range []*graph.Model{m, q} {
		g := mm.Graph
		am := &graph.Node{Name: "argmax", OpType: "ArgMax", Inputs: []string{"logits"}, Outputs: []string{"class"}, Attrs: map[string]*graph.Attr{}}
		am.SetAttrInt("axis", 1)
		inner := &graph.Node{Name: "argmax_inner", OpType: "ArgMax", Inputs: []string{"logits"}, Outputs: []string{"inner"}, Attrs: map[string]*graph.Attr{}}
		inner.SetAttrInt("axis", 1)
		cast := &graph.Node{Name: "cast_inner", OpType: "Cast", Inputs: []string{"inner"}, Outputs: []string{"inner_f"}, Attrs: map[string]*graph.Attr{}}
		cast.SetAttrInt("to", int64(graph.Float32))
		g.Nodes = append(g.Nodes, am, inner, cast)
		g.Outputs = append(g.Outputs, &graph.Value{Name: "class", DType: graph.Int64}, &graph.Value{Name: "inner_f", DType: graph.Float32})
	}
	_, test := fmnist(t)
	res, err := Compare(m, q, dsBatches{test, "input"}, 40, CompareOptions{BatchSize: 20})
	require.NoError(t, err)
	byName := map[string]IndexAgreement{}
	for _, x := range res.Indices {
		byName[x.Tensor] = x
	}
	require.Contains(t, byName, "class")
	require.Contains(t, byName, "inner")
	c := byName["class"]
	assert.True(t, c.Output)
	assert.Equal(t, "ArgMax", c.Op)
	assert.EqualValues(t, 40, c.Values)
	assert.Equal(t, 40, c.Samples)
	assert.Greater(t, c.Equal, 0.9)
	assert.False(t, byName["inner"].Output)
	assert.Equal(t, c.Equal, byName["inner"].Equal, "the same selection inside and at the output")
	for _, o := range res.Top1 {
		if o.Output == "class" {
			// The top-1 agreement of the logits is the ArgMax's index agreement.
			for _, l := range res.Top1 {
				if l.Output == "logits" {
					assert.InDelta(t, l.Agreement, c.Equal, 1e-12)
				}
			}
		}
	}
}
