package quantizer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// loopModel is x [1,4] -> Loop (3 iterations) carrying h, whose body computes
// h @ W + h (and, when outer, the same MatMul once outside the loop on x).
func loopModel(outer bool) *graph.Model {
	w := graph.NewTensor(graph.Float32, []int{4, 4})
	for i := range w.F32() {
		w.F32()[i] = float32(i%5) * 0.1
	}
	v := func(name string) *graph.Value {
		return &graph.Value{Name: name, DType: graph.Float32, Shape: graph.ShapeOf(1, 4), HasShape: true}
	}
	body := &graph.Graph{Name: "body", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{{Name: "i", DType: graph.Int64, HasShape: true}, {Name: "c", DType: graph.Bool, HasShape: true}, v("h")},
		Nodes: []*graph.Node{
			{Name: "bmm", OpType: "MatMul", Inputs: []string{"h", "W"}, Outputs: []string{"p"}, Attrs: map[string]*graph.Attr{}},
			{Name: "badd", OpType: "Add", Inputs: []string{"p", "h"}, Outputs: []string{"h2"}, Attrs: map[string]*graph.Attr{}},
			{Name: "bc", OpType: "Identity", Inputs: []string{"c"}, Outputs: []string{"c2"}, Attrs: map[string]*graph.Attr{}},
		},
		Outputs: []*graph.Value{{Name: "c2", DType: graph.Bool, HasShape: true}, v("h2")},
	}
	g := &graph.Graph{Name: "loop", Initializers: map[string]*graph.Tensor{"W": w, "M": graph.FromInt64([]int{}, []int64{3})},
		Values: map[string]*graph.Value{}, Inputs: []*graph.Value{v("x")}}
	start := "x"
	if outer {
		g.Nodes = append(g.Nodes, &graph.Node{Name: "omm", OpType: "MatMul", Inputs: []string{"x", "W"}, Outputs: []string{"x1"}, Attrs: map[string]*graph.Attr{}})
		start = "x1"
	}
	g.Nodes = append(g.Nodes, &graph.Node{Name: "loop", OpType: "Loop", Inputs: []string{"M", "", start}, Outputs: []string{"y"},
		Attrs: map[string]*graph.Attr{"body": {Name: "body", Type: graph.AttrGraph, G: body}}})
	g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}}
}

// Operators inside a Loop body stay float32 under a stated rule: a model whose
// only MatMul is in the body is refused with the reason, naming the Loop and
// what its body holds; with a MatMul outside too, the outer one is quantized
// and the notes state the rule.
func TestControlFlowBodiesStayFloat(t *testing.T) {
	x := graph.FromFloat32([]int{1, 4}, []float32{1, -2, 3, 0.5})
	data := sliceBatches{xs: []*graph.Tensor{x, x}}
	for _, tc := range []struct {
		name  string
		outer bool
		err   []string
	}{
		{"only the body has products", false, []string{`nothing to quantize outside control flow`, `Loop "loop" (1 Add, 1 MatMul)`, "float32 sub-sessions", "on the host"}},
		{"a product outside too", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cal, err := Calibrate(loopModel(tc.outer), MinMaxAsym, data, CalibOptions{Threads: 1})
			if tc.err != nil {
				require.Error(t, err)
				for _, s := range tc.err {
					assert.Contains(t, err.Error(), s)
				}
				return
			}
			require.NoError(t, err)
			r, err := cal.ComputeRanges()
			require.NoError(t, err)
			var notes []string
			q, err := Quantize(loopModel(tc.outer), r, QuantOptions{Notes: func(s string) { notes = append(notes, s) }})
			require.NoError(t, err)
			var ops []string
			for _, n := range q.Graph.Nodes {
				ops = append(ops, n.OpType)
			}
			assert.Contains(t, ops, "QuantizeLinear", "the MatMul outside the loop is quantized")
			found := false
			for _, s := range notes {
				found = found || strings.Contains(s, `float32 inside control flow: Loop "loop" (1 Add, 1 MatMul)`)
			}
			assert.True(t, found, "notes: %v", notes)
		})
	}
}
