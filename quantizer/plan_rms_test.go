package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// rmsModel is x → MatMul (a projection) → the RMS normalization written by norm
// (reading "h", writing "n") → MatMul: a LLaMA block's input normalization.
func rmsModel(rng *rand.Rand, norm []*graph.Node) *graph.Model {
	nodes := append([]*graph.Node{node("MatMul", []string{"x", "w1"}, []string{"h"})}, norm...)
	nodes = append(nodes, node("MatMul", []string{"n", "w2"}, []string{"y"}))
	g := graph.NewTensor(graph.Float32, []int{32})
	for i := range g.F32() {
		g.F32()[i] = 0.5 + rng.Float32()
	}
	m := newModel("x", []int{1, 8, 16}, []string{"y"}, nodes, map[string]*graph.Tensor{
		"w1": randTensor(rng, []int{16, 32}, 0.5), "w2": randTensor(rng, []int{32, 16}, 0.3),
		"two": graph.ScalarFloat32(2), "eps": graph.ScalarFloat32(1e-6), "one": graph.ScalarFloat32(1),
		"mhalf": graph.ScalarFloat32(-0.5), "gamma": g,
	})
	m.Opsets[""] = 13
	return m
}

// tokens returns [n, 8, 16] rows whose magnitudes spread over 0.2-3 (a residual
// stream's tokens differ in norm).
func tokens(rng *rand.Rand, n int) *graph.Tensor {
	x := randTensor(rng, []int{n, 8, 16}, 1)
	v := x.F32()
	for r := 0; r < n*8; r++ {
		f := float32(0.2 + 2.8*rng.Float64())
		for i := r * 16; i < (r+1)*16; i++ {
			v[i] *= f
		}
	}
	return x
}

// The RMS normalizations exporters write are one region each: quantized at their
// input and output only, stated as a rule; the output is closer to float32 than
// with every step requantized.
func TestQuantizeRMSNormRegions(t *testing.T) {
	rm := func(in, out string) *graph.Node {
		return node("ReduceMean", []string{in}, []string{out}, ints("axes", -1))
	}
	cases := []struct {
		name  string
		norm  []*graph.Node
		nodes int
		// minDB: SQNR of y, rows of magnitude 0.2-3; measured with the rule /
		// without it: torch.onnx 26.6 / 18.1 dB, SimplifiedLayerNormalization
		// expanded 26.6 / 6.4, Pow(-0.5) 26.9 / 17.9 (what is left is the small
		// rows of the per-tensor input, which the normalization scales up).
		minDB float64
	}{
		{"torch.onnx: Pow 2, Div(1, Sqrt), Mul", []*graph.Node{
			node("Pow", []string{"h", "two"}, []string{"sq"}), rm("sq", "ms"),
			node("Add", []string{"ms", "eps"}, []string{"mse"}), node("Sqrt", []string{"mse"}, []string{"rms"}),
			node("Div", []string{"one", "rms"}, []string{"inv"}), node("Mul", []string{"h", "inv"}, []string{"hn"}),
			node("Mul", []string{"gamma", "hn"}, []string{"n"}),
		}, 7, 25},
		{"SimplifiedLayerNormalization expanded: Mul(x, x), Div(x, Sqrt)", []*graph.Node{
			node("Mul", []string{"h", "h"}, []string{"sq"}), rm("sq", "ms"),
			node("Add", []string{"ms", "eps"}, []string{"mse"}), node("Sqrt", []string{"mse"}, []string{"rms"}),
			node("Div", []string{"h", "rms"}, []string{"hn"}), node("Mul", []string{"hn", "gamma"}, []string{"n"}),
		}, 6, 25},
		{"Pow(-0.5)", []*graph.Node{
			node("Mul", []string{"h", "h"}, []string{"sq"}), rm("sq", "ms"),
			node("Add", []string{"eps", "ms"}, []string{"mse"}), node("Pow", []string{"mse", "mhalf"}, []string{"inv"}),
			node("Mul", []string{"inv", "h"}, []string{"n"}),
		}, 5, 25},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			m := rmsModel(rng, tc.norm)
			calib := tokens(rng, 16)
			q, err := Quantize(m, rangesFromData(t, m, map[string]*graph.Tensor{"x": calib}), QuantOptions{})
			require.NoError(t, err)
			dq := dequantizedNames(q)
			assert.True(t, dq["h"], "the region's input is quantized")
			assert.True(t, dq["n"], "the region's output is quantized")
			for _, v := range []string{"sq", "ms", "mse", "rms", "inv", "hn"} {
				assert.False(t, dq[v], "%s stays float32 inside the region", v)
			}
			rules, err := FloatRules(q)
			require.NoError(t, err)
			var ruled []string
			for _, r := range rules {
				if r.Rule == rmsRule {
					ruled = append(ruled, r.Nodes...)
				}
			}
			assert.Len(t, ruled, tc.nodes)
			db := int8AgainstFloatDB(t, m, q, map[string]*graph.Tensor{"x": tokens(rng, 16)}, "y")
			t.Logf("%s: y %.1f dB", tc.name, db)
			assert.Greater(t, db, tc.minDB)
		})
	}
}
