package qat

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
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

// TestPassThroughOutputs: an output that is a graph input passed through or a
// constant (a detector's anchors) is not trained (it was "not computed"); the
// others are.
func TestPassThroughOutputs(t *testing.T) {
	m := tinyModel{[]int{3}, []*graph.Node{node("Relu", []string{"x"}, "y")},
		map[string]*graph.Tensor{"anchors": graph.FromFloat32([]int{2, 2}, []float32{1, 2, 3, 4})}}.model()
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "x", DType: graph.Float32}, &graph.Value{Name: "anchors", DType: graph.Float32})
	require.Len(t, TrainedOutputs(m.Graph), 1)
	require.Equal(t, "y", TrainedOutputs(m.Graph)[0].Name)
	n, err := New(m, Config{FloatOnly: true})
	require.NoError(t, err)
	_, y, err := n.Forward([]float32{-1, 0.5, 2}, 1)
	require.NoError(t, err)
	require.Equal(t, []float32{0, 0.5, 2}, y)
}

// f16Batches serves random samples as float16 tensors (quantizer.Batches).
type f16Batches struct{ x []float32 }

func (b f16Batches) Len() int { return len(b.x) / 4 }
func (b f16Batches) Batch(start, n int) (map[string]*graph.Tensor, error) {
	h := make([]uint16, 4*n)
	for i, v := range b.x[4*start : 4*(start+n)] {
		h[i] = graph.Float32ToFloat16(v)
	}
	return map[string]*graph.Tensor{"x": {DType: graph.Float16, Shape: []int{n, 4}, Data: h}}, nil
}

// TestFloat16Input: a model that takes float16 (computing in float32 behind a
// Cast, as Optimize widens it) trains on its input's values rounded to float16,
// and the model it writes keeps the float16 input and computes what training did.
func TestFloat16Input(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	m := tinyModel{[]int{4}, []*graph.Node{
		node("Cast", []string{"x"}, "xf", intAttr("to", int64(graph.Float32))),
		node("Gemm", []string{"xf", "w", "b"}, "g", intAttr("transB", 1)), node("Relu", []string{"g"}, "y")},
		map[string]*graph.Tensor{"w": randTensor(rng, 0.5, 3, 4), "b": randTensor(rng, 0.1, 3)}}.model()
	m.Graph.Inputs[0].DType = graph.Float16
	n, err := New(m, Config{Threads: 1})
	require.NoError(t, err)
	x := randomSamples(rng, 64*4)
	setCalibratedRanges(t, n, f16Batches{x})
	_, err = n.Fit(constData{64, 1}, Options{LR: 0.01, Batch: 16, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
	require.NoError(t, err)

	_, _, err = n.Forward([]float32{0.1, 1.0001, -3.3333, 65519}, 1)
	require.NoError(t, err)
	require.Equal(t, []float32{0.099975586, 1, -3.3339844, 65504}, n.vals[n.input].data, "fed as float16")

	feed, err := f16Batches{x}.Batch(0, 2)
	require.NoError(t, err)
	sqnr := exportSQNR(t, n, x[:8], 2, feed, "y")
	t.Logf("fake-quantized training forward against the int8 runtime: %.1f dB", sqnr)
	require.Greater(t, sqnr, 40.0)
	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	require.Equal(t, graph.Float16, q.Graph.Inputs[0].DType, "the input stays float16")
}
