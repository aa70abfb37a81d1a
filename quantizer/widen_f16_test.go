package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

func half(t *graph.Tensor) *graph.Tensor {
	h := make([]uint16, t.Len())
	for i, v := range t.F32() {
		h[i] = graph.Float32ToFloat16(v)
	}
	return &graph.Tensor{DType: graph.Float16, Shape: t.Shape, Data: h}
}

// fp16Model is Conv -> Relu -> Conv in float16 (float16 weights and biases), as
// onnxconverter-common writes a converted model: with keepIO a Cast to float16
// after the float32 input and a Cast to float32 before the output; without, float16
// input and output.
func fp16Model(rng *rand.Rand, keepIO bool) *graph.Model {
	nodes := []*graph.Node{
		node("Conv", []string{"x16", "w1", "b1"}, []string{"c1"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c1"}, []string{"r1"}),
		node("Conv", []string{"r1", "w2", "b2"}, []string{"y16"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
	}
	in, out := "x16", "y16"
	if keepIO {
		nodes = append([]*graph.Node{node("Cast", []string{"x"}, []string{"x16"}, intAttr("to", int64(graph.Float16)))}, nodes...)
		nodes = append(nodes, node("Cast", []string{"y16"}, []string{"y"}, intAttr("to", int64(graph.Float32))))
		in, out = "x", "y"
	}
	m := newModel(in, []int{1, 3, 8, 8}, []string{out}, nodes, map[string]*graph.Tensor{
		"w1": half(randTensor(rng, []int{4, 3, 3, 3}, 0.4)), "b1": half(randTensor(rng, []int{4}, 0.1)),
		"w2": half(randTensor(rng, []int{2, 4, 3, 3}, 0.3)), "b2": half(randTensor(rng, []int{2}, 0.1)),
	})
	if !keepIO {
		m.Graph.Inputs[0].DType = graph.Float16
		m.Graph.Outputs[0].DType = graph.Float16
	}
	return m
}

// A float16 model is quantized from float32 (graph/optimize/widen_f16.go): both Convs int8, the
// interface types kept, the int8 output close to the float16 model's. Before: the
// plan quantizes float32 operators only, and calibration stopped at "the model has
// no operator the quantizer can quantize" (fp16_keepio of --unseen6).
func TestQuantizeFloat16Model(t *testing.T) {
	for _, keepIO := range []bool{true, false} {
		t.Run(map[bool]string{true: "float32 interface", false: "float16 interface"}[keepIO], func(t *testing.T) {
			rng := rand.New(rand.NewSource(12))
			m := fp16Model(rng, keepIO)
			x := randTensor(rng, []int{1, 3, 8, 8}, 1)
			if !keepIO {
				x = half(x)
			}
			in := map[string]*graph.Tensor{m.Graph.Inputs[0].Name: x}
			q, err := Quantize(m, rangesFromData(t, m, in), QuantOptions{})
			require.NoError(t, err)
			assert.Equal(t, m.Graph.Inputs[0].DType, q.Graph.Inputs[0].DType, "input type kept")
			assert.Equal(t, m.Graph.Outputs[0].DType, q.Graph.Outputs[0].DType, "output type kept")
			wdq := 0
			for _, n := range q.Graph.Nodes {
				if n.OpType == "DequantizeLinear" && q.Graph.Initializers[n.Input(0)] != nil && q.Graph.Initializers[n.Input(0)].DType == graph.Int8 {
					wdq++
				}
			}
			assert.GreaterOrEqual(t, wdq, 2, "both Convs have int8 weights")
			s, err := runtime.NewSession(q)
			require.NoError(t, err)
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			want := runFloat(t, m, in)
			o := m.Graph.Outputs[0].Name
			gv, err := got[o].AsFloat64()
			require.NoError(t, err)
			wv, err := want[o].AsFloat64()
			require.NoError(t, err)
			worst := 0.0
			for i := range wv {
				worst = max(worst, abs64(gv[i]-wv[i]))
			}
			t.Logf("max |int8 - float16| %.4f", worst)
			assert.Less(t, worst, 0.1)
		})
	}
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestOptimizeFloat16Idempotent: optimizing a widened float16 model again changes
// nothing (the boundary Casts are recognised), so that quantizing the plan's model,
// as qat's export does, quantizes the tensors the plan named. Before, every pass
// put another Cast at a float16 input and output (x_f32_1: "the ranges have no
// entry for 1 of the 15 tensor(s)", fp16_full_op13 of --unseen11).
func TestOptimizeFloat16Idempotent(t *testing.T) {
	for _, keepIO := range []bool{true, false} {
		m := fp16Model(rand.New(rand.NewSource(13)), keepIO)
		once, err := Optimize(m)
		require.NoError(t, err)
		twice, err := Optimize(once)
		require.NoError(t, err)
		var a, b []string
		for _, n := range once.Graph.Nodes {
			a = append(a, n.OpType+" "+n.Outputs[0])
		}
		for _, n := range twice.Graph.Nodes {
			b = append(b, n.OpType+" "+n.Outputs[0])
		}
		assert.Equal(t, a, b, "keepIO %v", keepIO)
	}
}
