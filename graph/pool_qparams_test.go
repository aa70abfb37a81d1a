package graph

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// poolQParamsModel is x → QuantizeLinear → DequantizeLinear(s, z) → chain → pool →
// MatMul(w) → y; chain and pool are op types, each reading the previous value (Pad reads
// pads "p" and value "v").
func poolQParamsModel(scale *Tensor, chain []string, pools []string, quantizeAfter bool) *Model {
	g := &Graph{Initializers: map[string]*Tensor{"s": scale, "z": FromInt8(nil, []int8{-3}),
		"p": FromInt64([]int{8}, []int64{0, 0, 1, 1, 0, 0, 1, 1}), "v": ScalarFloat32(0), "one": ScalarFloat32(1),
		"w": FromFloat32([]int{3, 3}, make([]float32, 9))},
		Values: map[string]*Value{}, Inputs: []*Value{{Name: "x", DType: Float32}}, Outputs: []*Value{{Name: "y", DType: Float32}}}
	add := func(op string, in ...string) string {
		out := op + "_" + string(rune('a'+len(g.Nodes)))
		g.Nodes = append(g.Nodes, &Node{Name: out, OpType: op, Inputs: in, Outputs: []string{out}, Attrs: map[string]*Attr{}})
		return out
	}
	v := add("QuantizeLinear", "x", "s", "z")
	v = add("DequantizeLinear", v, "s", "z")
	for _, op := range chain {
		switch op {
		case "Pad":
			v = add(op, v, "p", "v")
		case "Pad1":
			v = add("Pad", v, "p", "one")
		default:
			v = add(op, v)
		}
	}
	for _, op := range pools {
		v = add(op, v)
	}
	if quantizeAfter {
		v = add("QuantizeLinear", v, "s", "z")
		v = add("DequantizeLinear", v, "s", "z")
	}
	g.Nodes = append(g.Nodes, &Node{Name: "mm", OpType: "MatMul", Inputs: []string{v, "w"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{}})
	return &Model{Graph: g, Opsets: map[string]int64{"": 13}}
}

func TestQuantizePoolsOnInputGrid(t *testing.T) {
	perTensor := FromFloat32([]int{1}, []float32{0.05})
	tests := []struct {
		name   string
		scale  *Tensor
		chain  []string
		pools  []string
		quantQ bool
		want   int // pools rewritten
	}{
		{"global pool on a dequantized tensor", perTensor, nil, []string{"GlobalAveragePool"}, false, 1},
		{"scalar scale", ScalarFloat32(0.05), nil, []string{"AveragePool"}, false, 1},
		{"through Relu, MaxPool, Identity and a zero Pad", perTensor, []string{"Relu", "MaxPool", "Identity", "Pad"}, []string{"AveragePool"}, false, 1},
		{"a pool reading a rewritten pool", perTensor, nil, []string{"AveragePool", "GlobalAveragePool"}, false, 2},
		{"output quantized by the file", perTensor, nil, []string{"GlobalAveragePool"}, true, 0},
		{"per-channel scale", FromFloat32([]int{2}, []float32{0.05, 0.1}), nil, []string{"GlobalAveragePool"}, false, 0},
		{"Pad with a non-zero constant", perTensor, []string{"Pad1"}, []string{"AveragePool"}, false, 0},
		{"input off the grid (Sigmoid)", perTensor, []string{"Sigmoid"}, []string{"GlobalAveragePool"}, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := poolQParamsModel(tc.scale, tc.chain, tc.pools, tc.quantQ)
			before := len(m.Graph.Nodes)
			out, names := QuantizePoolsOnInputGrid(m)
			require.Len(t, names, tc.want)
			require.Len(t, m.Graph.Nodes, before, "the input model is not modified")
			if tc.want == 0 {
				require.Same(t, m, out)
				return
			}
			require.Len(t, out.Graph.Nodes, before+2*tc.want)
			require.NoError(t, out.Graph.TopoSort())
			prods := out.Graph.Producers()
			for _, p := range m.Graph.Nodes {
				if p.OpType != "AveragePool" && p.OpType != "GlobalAveragePool" {
					continue
				}
				y := p.Outputs[0]
				dq := prods[y]
				require.Equal(t, "DequantizeLinear", dq.OpType, "%s keeps its output name, now the DequantizeLinear's", y)
				require.Equal(t, []string{"s", "z"}, dq.Inputs[1:], "the pool's input's scale and zero point")
				q := prods[dq.Input(0)]
				require.Equal(t, "QuantizeLinear", q.OpType)
				require.Equal(t, []string{"s", "z"}, q.Inputs[1:])
				pool := prods[q.Input(0)]
				require.Equal(t, p.OpType, pool.OpType)
				require.Equal(t, p.Inputs, pool.Inputs)
				require.Equal(t, y, p.Outputs[0], "the original node keeps its output")
			}
			for _, n := range names {
				require.Contains(t, n, "AveragePool")
			}
		})
	}
	t.Run("a pool that is a graph output", func(t *testing.T) {
		m := poolQParamsModel(perTensor, nil, []string{"GlobalAveragePool"}, false)
		pool := m.Graph.Nodes[2]
		m.Graph.Outputs = append(m.Graph.Outputs, &Value{Name: pool.Outputs[0], DType: Float32})
		out, names := QuantizePoolsOnInputGrid(m)
		require.Len(t, names, 1)
		require.Equal(t, "DequantizeLinear", out.Graph.Producers()[pool.Outputs[0]].OpType)
	})
}

func TestParsePoolQParams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want PoolQParams
		err  bool
	}{{"", PoolQParamsFile, false}, {"file", PoolQParamsFile, false}, {"input", PoolQParamsInput, false}, {"pytorch", "", true}} {
		p, err := ParsePoolQParams(tc.in)
		if tc.err {
			require.ErrorContains(t, err, "unknown pool quantization")
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, p)
	}
}
