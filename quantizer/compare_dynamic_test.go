package quantizer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
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

// A CTC recogniser's [T, N, C] scores get a per-time-step agreement; they are not
// class scores of a sample (no top-1).
func TestCompareSequenceOutput(t *testing.T) {
	m, err := graph.Load("../testdata/exported/recognizer_opset13.onnx")
	require.NoError(t, err)
	set, err := dataset.Open("../testdata/exported/npy_lines", dataset.Options{Inputs: m.Graph.Inputs})
	require.NoError(t, err)
	c, err := Calibrate(m, DefaultMethod, set, CalibOptions{BatchSize: 4})
	require.NoError(t, err)
	r, err := c.ComputeRanges()
	require.NoError(t, err)
	q, err := Quantize(m, r, QuantOptions{})
	require.NoError(t, err)
	res, err := Compare(m, q, set, 0, CompareOptions{BatchSize: 4})
	require.NoError(t, err)
	require.Len(t, res.Top1, 1)
	o := res.Top1[0]
	assert.Zero(t, o.Classes)
	assert.Equal(t, 37, o.StepClasses)
	assert.Greater(t, o.StepAgreement, 0.5)
	assert.LessOrEqual(t, o.StepAgreement, 1.0)
}

func TestStepClasses(t *testing.T) {
	for _, c := range []struct {
		shape []int
		want  int
	}{{[]int{16, 2, 37}, 37}, {[]int{2, 16, 37}, 37}, {[]int{16, 2, 1}, 0}, {[]int{2, 10}, 0}, {[]int{1, 3, 80, 80, 9}, 0}} {
		assert.Equal(t, c.want, stepClasses(c.shape), "%v", c.shape)
	}
}
