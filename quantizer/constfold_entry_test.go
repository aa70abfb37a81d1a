package quantizer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// TestQuantizerFoldsShapeArithmetic: every quantizer entry point infers shapes with
// runtime.ConstEval(). On ShapeArithChained, whose second Shape -> Gather ->
// Unsqueeze -> Concat chain reads the shape the first one computes, Optimize (which
// Quantize and QuantizeDynamic run first) can replace both chains by initializers only
// when shape inference folded the first; the Reshape's output shape is then concrete.
func TestQuantizerFoldsShapeArithmetic(t *testing.T) {
	folded := func(t *testing.T, m *graph.Model) {
		t.Helper()
		for _, n := range m.Graph.Nodes {
			require.NotContains(t, []string{"Shape", "Gather", "Unsqueeze", "Concat"}, n.OpType, "node %s not folded", n.Name)
		}
		v := m.Graph.Values[testmodels.ShapeArithReshaped]
		require.NotNil(t, v)
		s, ok := v.Shape.Concrete()
		require.True(t, ok, "reshape output %s not folded", v.Shape)
		require.Equal(t, []int{2, 12}, s)
	}
	t.Run("Optimize", func(t *testing.T) {
		q, err := Optimize(testmodels.ShapeArith())
		require.NoError(t, err)
		folded(t, q)
		q, err = Optimize(testmodels.ShapeArithChained())
		require.NoError(t, err)
		folded(t, q)
	})
	t.Run("Quantize", func(t *testing.T) {
		m := testmodels.ShapeArithChained()
		c, err := NewCalibrator(m, MinMaxAsym, CalibOptions{})
		require.NoError(t, err)
		x := graph.NewTensor(graph.Float32, []int{2, 3, 4})
		for i := range x.F32() {
			x.F32()[i] = float32(i%5) - 2
		}
		require.NoError(t, c.Collect(map[string]*graph.Tensor{testmodels.ShapeArithInput: x}))
		r, err := c.ComputeRanges()
		require.NoError(t, err)
		q, err := Quantize(m, r, QuantOptions{})
		require.NoError(t, err)
		folded(t, q)
	})
	t.Run("QuantizeDynamic", func(t *testing.T) {
		q, err := QuantizeDynamic(testmodels.ShapeArithChained(), DynamicOptions{})
		require.NoError(t, err)
		folded(t, q)
	})
}
