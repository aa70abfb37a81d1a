package bench

import (
	"maps"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// boundModel returns m with the given input shapes bound (graph.Model.
// BindInputShapes) on a copy of its graph's inputs and values, or m itself when
// there is nothing to bind. A session made from a model whose height and width
// are symbolic plans without them: its shape subgraphs stay live and the
// shape-dependent rewrites (dead convolution taps, the sparse dilated path's
// geometry) cannot run, so --input-shape must reach the float32 model the
// same way it reaches the quantized one.
func boundModel(m *graph.Model, shapes map[string][]int) (*graph.Model, error) {
	if m == nil || len(shapes) == 0 {
		return m, nil
	}
	g := *m.Graph
	g.Inputs = slices.Clone(g.Inputs)
	g.Values = maps.Clone(g.Values)
	c := *m
	c.Graph = &g
	if err := c.BindInputShapes(shapes); err != nil {
		return nil, err
	}
	return &c, nil
}
