package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A Gather of a constant table read only by a Concat is quantized once, at the
// Concat's parameters (twenty-third session): it shared the table's parameters and
// was requantized, written DQ(table) -> Gather -> Q -> DQ -> Q -> DQ (the hash
// embeddings of canine_bytes_op13), which ONNX Runtime's DoubleQDQPairsRemover
// rewrites to one pair on another grid. The first pair reproduced the table's
// codes, so the values are unchanged. A float32 producer (Sin: no int8 form) keeps
// its own range and the requantization: the general form of the rule was measured
// and dropped (docs/quantizer.md, twenty-third session).
func TestQuantizeConcatInputRoundedOnce(t *testing.T) {
	cases := []struct {
		name   string
		nodes  []*graph.Node
		other  string // the Concat input computed outside the int8 operators
		tables bool
		pairs  int // Q -> DQ -> Q -> DQ chains expected
	}{
		{
			name: "float32 producer",
			nodes: []*graph.Node{
				node("MatMul", []string{"x", "w"}, []string{"a"}),
				node("Sin", []string{"x"}, []string{"s"}),
				node("Concat", []string{"a", "s"}, []string{"c"}, intAttr("axis", 1)),
				node("MatMul", []string{"c", "w2"}, []string{"y"}),
			},
			other: "s",
			pairs: 1,
		},
		{
			name: "Gather of a table",
			nodes: []*graph.Node{
				node("MatMul", []string{"x", "w"}, []string{"a"}),
				node("Gather", []string{"table", "ids"}, []string{"e"}),
				node("Concat", []string{"a", "e"}, []string{"c"}, intAttr("axis", 1)),
				node("MatMul", []string{"c", "w2"}, []string{"y"}),
			},
			other:  "e",
			tables: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(23))
			inits := map[string]*graph.Tensor{
				"w": randTensor(rng, []int{3, 3}, 1), "w2": randTensor(rng, []int{6, 2}, 1),
				"table": randTensor(rng, []int{10, 3}, 3),
			}
			m := newModel("x", []int{4, 3}, []string{"y"}, tc.nodes, inits)
			feed := map[string]*graph.Tensor{"x": randTensor(rng, []int{4, 3}, 1)}
			if tc.tables {
				m.Graph.Inputs = append(m.Graph.Inputs, &graph.Value{Name: "ids", DType: graph.Int64,
					Shape: graph.Shape{{Size: -1, Param: "N"}}, HasShape: true})
				feed["ids"] = graph.FromInt64([]int{4}, []int64{7, 0, 3, 9})
			} else {
				delete(m.Graph.Initializers, "table")
			}
			q, err := Quantize(m, rangesFromData(t, m, feed), QuantOptions{})
			require.NoError(t, err)
			prod := q.Graph.Producers()
			var cat *graph.Node
			pairs := 0
			for _, n := range q.Graph.Nodes {
				if n.OpType == "Concat" {
					cat = n
				}
				if n.OpType == "QuantizeLinear" {
					if dq := prod[n.Input(0)]; dq != nil && dq.OpType == "DequantizeLinear" && q.Graph.Initializers[dq.Input(0)] == nil {
						pairs++
					}
				}
			}
			assert.Equal(t, tc.pairs, pairs, "Q -> DQ -> Q -> DQ chains")
			require.NotNil(t, cat)
			if tc.pairs > 0 {
				return
			}
			out := scalarParams(t, q, prod["c"]) // the DequantizeLinear of the Concat output
			for _, in := range cat.Inputs {
				dq := prod[in]
				require.Equal(t, "DequantizeLinear", dq.OpType, "input %s", in)
				assert.Equal(t, out, scalarParams(t, q, dq), "input %s is at the Concat's parameters", in)
			}
			// One Q/DQ pair between the Gather and the Concat.
			dq := prod[tc.other]
			require.NotNil(t, dq)
			require.Equal(t, "DequantizeLinear", dq.OpType)
			qn := prod[dq.Input(0)]
			require.NotNil(t, qn)
			require.Equal(t, "QuantizeLinear", qn.OpType)
			src := prod[qn.Input(0)]
			require.NotNil(t, src)
			assert.Equal(t, "Gather", src.OpType, "%s is quantized straight from its producer", tc.other)
			// The Gather reads the table through its DequantizeLinear: the values the
			// removed pair requantized were already on the table's grid.
			assert.Equal(t, "DequantizeLinear", prod[src.Input(0)].OpType)
		})
	}
}
