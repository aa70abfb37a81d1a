package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestWithInputShapesCopies: the shapes are bound on a copy; the caller's
// model keeps its symbolic height and width, nothing to bind returns the
// model itself, and a shape that contradicts the declaration is refused.
func TestWithInputShapesCopies(t *testing.T) {
	in := &graph.Value{Name: "input", DType: graph.Float32, HasShape: true,
		Shape: graph.Shape{{Size: 1}, {Size: 3}, {Size: -1, Param: "height"}, {Size: -1, Param: "width"}}}
	m := &graph.Model{Graph: &graph.Graph{Inputs: []*graph.Value{in}, Values: map[string]*graph.Value{"input": in},
		Initializers: map[string]*graph.Tensor{}}}
	same, err := m.WithInputShapes(nil)
	require.NoError(t, err)
	require.Same(t, m, same)
	b, err := m.WithInputShapes(map[string][]int{"input": {1, 3, 256, 384}})
	require.NoError(t, err)
	require.Equal(t, 384, b.Graph.Inputs[0].Shape[3].Size)
	require.Equal(t, 256, b.Graph.Values["input"].Shape[2].Size)
	require.False(t, m.Graph.Inputs[0].Shape[2].Known(), "the original stays symbolic")
	require.False(t, m.Graph.Values["input"].Shape[3].Known())
	_, err = m.WithInputShapes(map[string][]int{"input": {1, 4, 256, 384}})
	require.Error(t, err)
}
