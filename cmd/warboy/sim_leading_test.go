package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// The leading dimension --input-shape gives is the batch unless the inputs say
// otherwise: different symbolic names (EmbeddingBag's tokens and offsets), or another
// input's static leading size (a time-major GRU: x [time, batch, 20] and h0 [4, batch,
// 32]; bigru_h0 of --unseen7, where sim failed with `input "h0" has a batch of 4 (the
// model declares it), not the requested batch 16`).
func TestGivenLeadingDim(t *testing.T) {
	sym := func(p string) graph.Dim { return graph.Dim{Size: -1, Param: p} }
	fix := func(n int) graph.Dim { return graph.Dim{Size: n} }
	in := func(name string, dims ...graph.Dim) *graph.Value {
		return &graph.Value{Name: name, DType: graph.Float32, HasShape: true, Shape: dims}
	}
	for _, tc := range []struct {
		name   string
		inputs []*graph.Value
		given  map[string][]int
		want   int
	}{
		{"one batch", []*graph.Value{in("x", sym("batch"), fix(3))}, map[string][]int{"x": {2, 3}}, 2},
		{"shared batch", []*graph.Value{in("a", sym("batch"), fix(3)), in("b", sym("batch"), fix(5))},
			map[string][]int{"a": {4, 3}, "b": {4, 5}}, 4},
		{"static batch 1 beside", []*graph.Value{in("a", sym("batch"), fix(3)), in("b", fix(1), fix(5))},
			map[string][]int{"a": {4, 3}}, 4},
		{"different names", []*graph.Value{in("tokens", sym("ntok")), in("offsets", sym("nbags"))},
			map[string][]int{"tokens": {20}, "offsets": {4}}, 0},
		{"time-major with h0", []*graph.Value{in("x", sym("time"), sym("batch"), fix(20)), in("h0", fix(4), sym("batch"), fix(32))},
			map[string][]int{"x": {16, 1, 20}, "h0": {4, 1, 32}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &graph.Graph{Inputs: tc.inputs}
			got, err := givenLeadingDim(g, tc.given)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
