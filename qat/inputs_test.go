package qat

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestInputsOfSeveralKinds: a sample is every input's values in turn (a per-sample
// scalar, [N], is one value), integer inputs are computed tensors, and values that
// are not integers for an integer input are an error naming it.
func TestInputsOfSeveralKinds(t *testing.T) {
	m := tinyModel{[]int{}, []*graph.Node{
		node("Cast", []string{"ids"}, "f", intAttr("to", int64(graph.Float32))),
		node("Mul", []string{"x", "f"}, "y")}, nil}.model()
	m.Graph.Inputs = append(m.Graph.Inputs, &graph.Value{Name: "ids", DType: graph.Int64, Shape: graph.Shape{{Size: -1, Param: "N"}}, HasShape: true})
	n, err := New(m, Config{FloatOnly: true})
	require.NoError(t, err)
	require.Equal(t, []string{"x", "ids"}, n.InputNames())
	require.Equal(t, 2, n.SampleLen())
	require.False(t, n.Symbolic())
	_, y, err := n.Forward([]float32{1.5, 2, -1, 3}, 2)
	require.NoError(t, err)
	require.Equal(t, []float32{3, -3}, y)
	_, _, err = n.Forward([]float32{1.5, 2.5}, 1)
	require.ErrorContains(t, err, `input "ids" is int64; sample 0 holds 2.5`)
	_, _, err = n.Forward([]float32{1, 2, 3}, 2)
	require.ErrorContains(t, err, "input has 3 values, want 4 (2 samples of 2)")
}
