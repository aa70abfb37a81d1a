package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// Results must never share memory with the model's initializers or the caller's
// inputs, even when a view operator (Identity, Reshape) produced them.
func TestRunResultsDoNotAlias(t *testing.T) {
	g := &graph.Graph{
		Name:         "alias",
		Initializers: map[string]*graph.Tensor{"W": graph.FromFloat32([]int{2, 2}, []float32{1, 2, 3, 4}), "shape": graph.FromInt64([]int{1}, []int64{4})},
		Values:       map[string]*graph.Value{},
		Inputs:       []*graph.Value{{Name: "X", DType: graph.Float32, Shape: graph.ShapeOf(2, 2), HasShape: true}},
		Outputs:      []*graph.Value{{Name: "Y", DType: graph.Float32}, {Name: "R", DType: graph.Float32}},
		Nodes: []*graph.Node{
			{OpType: "Identity", Inputs: []string{"W"}, Outputs: []string{"Y"}},
			{OpType: "Reshape", Inputs: []string{"X", "shape"}, Outputs: []string{"R"}},
		},
	}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}, IRVersion: 7}
	s, err := NewSession(m)
	require.NoError(t, err)
	x := graph.FromFloat32([]int{2, 2}, []float32{5, 6, 7, 8})
	out, err := s.RunTensors(map[string]*graph.Tensor{"X": x})
	require.NoError(t, err)
	out["Y"].F32()[0] = 100
	out["R"].F32()[0] = 100
	assert.Equal(t, float32(5), x.F32()[0], "caller's input changed through a result")
	again, err := s.RunTensors(map[string]*graph.Tensor{"X": x})
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2, 3, 4}, again["Y"].F32(), "initializer changed through a result")
}
