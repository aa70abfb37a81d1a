package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// mlNode is an ai.onnx.ml operator as skl2onnx writes one.
func mlNode(op string, in, out string, attrs ...func(*graph.Node)) *graph.Node {
	n := node(op, []string{in}, []string{out}, attrs...)
	n.Domain = mlDomain
	return n
}

func floats(name string, v ...float32) func(*graph.Node) {
	return func(n *graph.Node) { n.Attrs[name] = &graph.Attr{Name: name, Type: graph.AttrFloats, Floats: v} }
}

// A scikit-learn pipeline: the ai.onnx.ml steps run float32 and are stated as a
// rule; the network after them is quantized. A pipeline of ai.onnx.ml steps alone
// is refused with an error naming them.
func TestQuantizeMLPipeline(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	cases := []struct {
		name      string
		nodes     []*graph.Node
		out       string
		quantized []string
		err       string
	}{
		{"Scaler then an MLP", []*graph.Node{
			mlNode("Scaler", "x", "scaled", floats("offset", 0.1, 0.2, 0.3, 0.4), floats("scale", 2, 2, 2, 2)),
			node("MatMul", []string{"scaled", "w1"}, []string{"mm"}),
			node("Add", []string{"mm", "b1"}, []string{"lin"}),
			node("Relu", []string{"lin"}, []string{"y"}),
		}, "y", []string{"scaled", "y"}, ""},
		{"Scaler then Normalizer alone", []*graph.Node{
			mlNode("Scaler", "x", "scaled", floats("offset", 0.1, 0.2, 0.3, 0.4), floats("scale", 2, 2, 2, 2)),
			mlNode("Normalizer", "scaled", "y", func(n *graph.Node) { n.SetAttrString("norm", "L2") }),
		}, "y", nil, "ai.onnx.ml (Normalizer, Scaler)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel("x", []int{1, 4}, []string{tc.out}, tc.nodes, map[string]*graph.Tensor{
				"w1": randTensor(rng, []int{4, 8}, 0.5), "b1": randTensor(rng, []int{8}, 0.1),
			})
			m.Opsets[""] = 13
			m.Opsets[mlDomain] = 1
			calib := map[string]*graph.Tensor{"x": randTensor(rng, []int{16, 4}, 1)}
			if tc.err != "" {
				_, err := NewCalibrator(m, MinMaxAsym, CalibOptions{})
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			q, err := Quantize(m, rangesFromData(t, m, calib), QuantOptions{})
			require.NoError(t, err)
			dq := dequantizedNames(q)
			for _, v := range tc.quantized {
				assert.True(t, dq[v], "%s is quantized", v)
			}
			rules, err := FloatRules(q)
			require.NoError(t, err)
			require.NotEmpty(t, rules)
			var ml []string
			for _, r := range rules {
				if r.Rule == mlRule {
					ml = r.Nodes
				}
			}
			assert.Equal(t, []string{"Scaler_scaled"}, ml)
		})
	}
}
