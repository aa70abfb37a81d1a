package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

func double(t *graph.Tensor) *graph.Tensor {
	v, _ := t.AsFloat64()
	return &graph.Tensor{DType: graph.Float64, Shape: t.Shape, Data: v}
}

// A model exported after model.double() (float64 weights, input and output;
// double_op13 of the unseen11 set) runs on the float32 kernels and is quantized
// from float32 (graph/optimize.NarrowFloat64): before, run stopped at `Conv:
// unsupported input type float64` and quantize at "the model has no operator the
// quantizer can quantize". The float32 copy of the model is the reference.
func TestFloat64Model(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	w1, b1 := randTensor(rng, []int{4, 3, 3, 3}, 0.4), randTensor(rng, []int{4}, 0.1)
	w2, b2 := randTensor(rng, []int{2, 4, 3, 3}, 0.3), randTensor(rng, []int{2}, 0.1)
	build := func(conv func(*graph.Tensor) *graph.Tensor) *graph.Model {
		return newModel("x", []int{1, 3, 8, 8}, []string{"y"}, []*graph.Node{
			node("Conv", []string{"x", "w1", "b1"}, []string{"c1"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
			node("Relu", []string{"c1"}, []string{"r1"}),
			node("Conv", []string{"r1", "w2", "b2"}, []string{"y"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
		}, map[string]*graph.Tensor{"w1": conv(w1), "b1": conv(b1), "w2": conv(w2), "b2": conv(b2)})
	}
	m32 := build(func(t *graph.Tensor) *graph.Tensor { return t })
	m64 := build(double)
	m64.Graph.Inputs[0].DType = graph.Float64
	m64.Graph.Outputs[0].DType = graph.Float64
	x := randTensor(rng, []int{1, 3, 8, 8}, 1)
	in32, in64 := map[string]*graph.Tensor{"x": x}, map[string]*graph.Tensor{"x": double(x)}

	want := runFloat(t, m32, in32)["y"].F32()
	var warnings []string
	s, err := runtime.NewSession(m64, runtime.WithMode(runtime.ModeFloat), runtime.WithWarnings(func(w string) { warnings = append(warnings, w) }))
	require.NoError(t, err)
	require.Len(t, warnings, 1, "the narrowing is said")
	assert.Contains(t, warnings[0], "float32 precision")
	warnings = nil
	_, err = runtime.NewSession(m32, runtime.WithMode(runtime.ModeFloat), runtime.WithWarnings(func(w string) { warnings = append(warnings, w) }))
	require.NoError(t, err)
	assert.Empty(t, warnings, "a float32 model is not narrowed")
	got, err := s.RunTensors(in64)
	require.NoError(t, err)
	require.Equal(t, graph.Float64, got["y"].DType, "the output keeps its type")
	gv, _ := got["y"].AsFloat64()
	for i := range want {
		require.InDelta(t, float64(want[i]), gv[i], 1e-5, "y[%d]", i)
	}

	q, err := Quantize(m64, rangesFromData(t, m64, in64), QuantOptions{})
	require.NoError(t, err)
	assert.Equal(t, graph.Float64, q.Graph.Inputs[0].DType, "input type kept")
	assert.Equal(t, graph.Float64, q.Graph.Outputs[0].DType, "output type kept")
	qs, err := runtime.NewSession(q)
	require.NoError(t, err)
	qgot, err := qs.RunTensors(in64)
	require.NoError(t, err)
	qv, _ := qgot["y"].AsFloat64()
	worst := 0.0
	for i := range want {
		worst = max(worst, abs64(qv[i]-float64(want[i])))
	}
	t.Logf("max |int8 - float64| %.4f", worst)
	assert.Less(t, worst, 0.1)
}
