package quantizer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A dynamically quantized model has no DequantizeLinear of an activation; Compare
// still reports its outputs and the float tensors both models compute under one
// name (the int8 operators' results), run on the int8 executor.
func TestCompareDynamicModel(t *testing.T) {
	_, test := fmnist(t)
	for _, name := range []string{"fmnist_mlp", "fmnist_lstm"} {
		t.Run(name, func(t *testing.T) {
			m := loadBundled(t, name)
			q, err := QuantizeDynamic(m, DynamicOptions{})
			require.NoError(t, err)
			res, err := Compare(m, q, dsBatches{test, m.Graph.Inputs[0].Name}, 200, CompareOptions{BatchSize: 64})
			require.NoError(t, err)
			assert.Equal(t, "int8", res.Mode)
			require.Len(t, res.Top1, 1)
			o := res.Top1[0]
			assert.Equal(t, 10, o.Classes)
			assert.GreaterOrEqual(t, o.Agreement, 0.97, "top-1 agreement")
			assert.Greater(t, float64(o.SQNR), 20.0)
			assert.NotEmpty(t, res.Layers, "the layer tensors both models compute")
			for _, l := range res.Layers {
				assert.Equal(t, l.Tensor, l.Int8Name)
				assert.Positive(t, l.Values)
				assert.False(t, graph.IsQuantizedOp(l.Op), l.Op)
			}
		})
	}
}
