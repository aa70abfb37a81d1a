package runtime_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
	"github.com/warboy-sim/warboy/runtime"
)

// TestSessionFoldsShapeArithmetic: a session infers shapes with runtime.ConstEval(),
// so the Reshape fed by Shape -> Gather -> Unsqueeze -> Concat gets a concrete shape.
func TestSessionFoldsShapeArithmetic(t *testing.T) {
	sess, err := runtime.NewSession(testmodels.ShapeArith())
	require.NoError(t, err)
	v := sess.Model().Graph.Values[testmodels.ShapeArithReshaped]
	require.NotNil(t, v)
	s, ok := v.Shape.Concrete()
	require.True(t, ok, "reshape output %s not folded", v.Shape)
	require.Equal(t, []int{2, 12}, s)
	out, err := sess.RunTensors(map[string]*graph.Tensor{testmodels.ShapeArithInput: graph.NewTensor(graph.Float32, []int{2, 3, 4})})
	require.NoError(t, err)
	require.Equal(t, []int{2, 5}, out[testmodels.ShapeArithOutput].Shape)
}

// TestInferShapesNeedsEvaluator: a caller that forgets InferOptions.Eval gets an error,
// not a silent loss of folding; graph.NoFold{} is the explicit opt-out.
func TestInferShapesNeedsEvaluator(t *testing.T) {
	m := testmodels.ShapeArith()
	_, err := m.InferShapes(graph.InferOptions{})
	require.ErrorContains(t, err, "InferOptions.Eval is nil")
	require.Error(t, m.Validate(nil))

	_, err = m.InferShapes(graph.InferOptions{Eval: graph.NoFold{}})
	require.NoError(t, err)
	_, ok := m.Graph.Values[testmodels.ShapeArithReshaped].Shape.Concrete()
	require.False(t, ok, "NoFold must not fold")

	_, err = m.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()})
	require.NoError(t, err)
	s, ok := m.Graph.Values[testmodels.ShapeArithReshaped].Shape.Concrete()
	require.True(t, ok)
	require.Equal(t, []int{2, 12}, s)
}
