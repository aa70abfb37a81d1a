package quantizer

import (
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

func scalar(v float32) *graph.Tensor { return graph.FromFloat32(nil, []float32{v}) }

// regionModels are the written-out patterns exporters emit, on an input [N,6,16].
func regionModels(rng *rand.Rand) map[string]*graph.Model {
	shape := []int{1, 6, 16}
	out := map[string]*graph.Model{}
	out["gelu_erf"] = newModel("x", shape, []string{"y"}, []*graph.Node{
		node("Div", []string{"x", "sqrt2"}, []string{"d"}),
		node("Erf", []string{"d"}, []string{"e"}),
		node("Add", []string{"e", "one"}, []string{"e1"}),
		node("Mul", []string{"x", "e1"}, []string{"m"}),
		node("Mul", []string{"m", "half"}, []string{"y"}),
	}, map[string]*graph.Tensor{"sqrt2": scalar(float32(math.Sqrt2)), "one": scalar(1), "half": scalar(0.5)})
	out["hardswish_add_clip_div_mul"] = newModel("x", shape, []string{"y"}, []*graph.Node{
		node("Add", []string{"x", "three"}, []string{"a"}),
		node("Clip", []string{"a", "zero", "six"}, []string{"c"}),
		node("Div", []string{"c", "six"}, []string{"h"}),
		node("Mul", []string{"x", "h"}, []string{"y"}),
	}, map[string]*graph.Tensor{"three": scalar(3), "zero": scalar(0), "six": scalar(6)})
	// Conv → Relu → Mul: the Relu stays fused into the conv, the Mul runs on its own.
	out["conv_relu_mul_keeps_fusion"] = newModel("x", shape, []string{"y"}, []*graph.Node{
		node("MatMul", []string{"x", "w"}, []string{"c"}),
		node("Relu", []string{"c"}, []string{"r"}),
		node("Mul", []string{"r", "half"}, []string{"y"}),
	}, map[string]*graph.Tensor{"w": randTensor(rng, []int{16, 16}, 0.3), "half": scalar(0.5)})
	out["hardsigmoid_mul"] = newModel("x", shape, []string{"y"}, []*graph.Node{
		node("HardSigmoid", []string{"x"}, []string{"h"}, floatAttr("alpha", 1.0/6)),
		node("Mul", []string{"x", "h"}, []string{"y"}),
	}, nil)
	ln := func(square *graph.Node, affine bool) *graph.Model {
		nodes := []*graph.Node{
			node("ReduceMean", []string{"x"}, []string{"mu"}, ints("axes", -1)),
			node("Sub", []string{"x", "mu"}, []string{"d"}),
			square,
			node("ReduceMean", []string{"sq"}, []string{"var"}, ints("axes", 2)),
			node("Add", []string{"var", "eps"}, []string{"ve"}),
			node("Sqrt", []string{"ve"}, []string{"sd"}),
			node("Div", []string{"d", "sd"}, []string{"n"}),
		}
		inits := map[string]*graph.Tensor{"eps": scalar(1e-5), "two": scalar(2)}
		outName := "n"
		if affine {
			nodes = append(nodes, node("Mul", []string{"n", "gamma"}, []string{"g"}), node("Add", []string{"g", "beta"}, []string{"y"}))
			inits["gamma"], inits["beta"] = randPositive(rng, []int{16}), randTensor(rng, []int{16}, 0.3)
			outName = "y"
		}
		// a MatMul reads the normalized value, as in a transformer block.
		nodes = append(nodes, node("MatMul", []string{outName, "w"}, []string{"z"}))
		inits["w"] = randTensor(rng, []int{16, 8}, 0.3)
		return newModel("x", shape, []string{"z"}, nodes, inits)
	}
	out["layernorm_pow_affine"] = ln(node("Pow", []string{"d", "two"}, []string{"sq"}), true)
	out["layernorm_mul_plain"] = ln(node("Mul", []string{"d", "d"}, []string{"sq"}), false)
	return out
}

// TestRegionsRunInt8: the written-out GELU, HardSwish and LayerNorm patterns get Q/DQ
// only at their boundary, run entirely int8 (one LUT or one QLayerNorm), agree with
// the float model within a few output quantization steps, and with ONNX Runtime
// running the same QDQ file within one step.
func TestRegionsRunInt8(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	dir := t.TempDir()
	for name, m := range regionModels(rng) {
		t.Run(name, func(t *testing.T) {
			x := randTensor(rng, []int{8, 6, 16}, 2)
			in := map[string]*graph.Tensor{"x": x}
			q, err := Quantize(m, rangesFromData(t, m, in), QuantOptions{})
			require.NoError(t, err)
			// Q/DQ pairs: the input and the output (and the MatMul's output after a layer norm).
			want := 2
			if countOps(m)["MatMul"] > 0 {
				want = 3
			}
			if name == "conv_relu_mul_keeps_fusion" {
				assert.Nil(t, q.Graph.Producers()["c_QuantizeLinear_Input"], "no Q/DQ between the MatMul and its Relu")
			}
			assert.Equal(t, want, countOps(q)["QuantizeLinear"], "no QuantizeLinear inside the pattern")

			s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8), runtime.WithWarnings(func(w string) { t.Error(w) }))
			require.NoError(t, err)
			for _, p := range s.Placement {
				assert.True(t, p.Int8, "%s (%s) runs float32", p.Node, p.OpType)
			}
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			outName := m.Graph.Outputs[0].Name
			ref := runFloat(t, m, in)[outName].F32()
			qs := outputScale(t, q, outName)
			assert.LessOrEqual(t, maxAbsDiff(got[outName].F32(), ref), 4*qs+0.02*maxAbs(ref), "int8 vs float")
			qref := runFloat(t, q, in)[outName].F32()
			assert.LessOrEqual(t, maxAbsDiff(got[outName].F32(), qref), 1.01*qs, "int8 vs the QDQ graph in float")

			if err := ortoracle.Available(); err != nil {
				t.Logf("ONNX Runtime oracle not installed: %v", err)
				return
			}
			path := filepath.Join(dir, name+".onnx")
			require.NoError(t, q.Save(path))
			ort, err := ortoracle.Run(path, in, 1)
			require.NoError(t, err)
			d := maxAbsDiff(got[outName].F32(), ort[outName].F32())
			t.Logf("max |int8 - ONNX Runtime| = %.4g (%.2f output steps)", d, d/qs)
			assert.LessOrEqual(t, d, 1.01*qs, "int8 vs ONNX Runtime")
		})
	}
}

// outputScale is the scale of the QuantizeLinear that produces a graph output's DQ.
func outputScale(t *testing.T, q *graph.Model, out string) float64 {
	t.Helper()
	dq := q.Graph.Producers()[out]
	require.NotNil(t, dq)
	if dq.OpType != "DequantizeLinear" { // a MatMul output: its input DQ
		t.Fatalf("output %s is not dequantized (%s)", out, dq.OpType)
	}
	return float64(q.Graph.Initializers[dq.Input(1)].F32()[0])
}

func maxAbs(a []float32) float64 {
	m := 0.0
	for _, v := range a {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}
