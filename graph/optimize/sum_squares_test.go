package optimize_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
	"github.com/warboy-sim/warboy/runtime"
)

// cdistModel is torch.cdist(x, y) as torch.onnx writes it at opset 13 (the
// PatchCore export): x [4, 8] unsqueezed to [4, 1, 8], y a [1, 5, 8]
// initializer, Sub, Pow by a Constant 2, ReduceSum over the Constant axes
// [-1] with keepdims 0, then the root as Pow by 0.49999976 (torch's
// exponent), and a ReduceMin. square and root choose the spelling: square
// "pow" or "mul" (Mul(d, d)), root "pow" (0.49999976), "half" (Pow 0.5),
// "sqrt" or "" (none).
func cdistModel(rng *rand.Rand, opset int64, square, root string) *graph.Model {
	sum := []*graph.Node{}
	axes := graph.FromInt64([]int{1}, []int64{-1})
	switch {
	case opset >= 13:
		sum = append(sum, node("Constant", nil, []string{"axes"}, tensorAttr(axes)),
			node("ReduceSum", []string{"sq", "axes"}, []string{"ss"}, graph.IntAttr("keepdims", 0)))
	default:
		sum = append(sum, node("ReduceSum", []string{"sq"}, []string{"ss"}, graph.IntAttr("keepdims", 0),
			&graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: []int64{-1}}))
	}
	nodes := []*graph.Node{
		node("Constant", nil, []string{"one"}, tensorAttr(graph.FromInt64([]int{1}, []int64{1}))),
		node("Unsqueeze", []string{"x", "one"}, []string{"xu"}),
		node("Sub", []string{"xu", "y"}, []string{"d"}),
	}
	if opset < 13 {
		nodes[1] = node("Unsqueeze", []string{"x"}, []string{"xu"}, &graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: []int64{1}})
		nodes = nodes[1:]
	}
	if square == "mul" {
		nodes = append(nodes, node("Mul", []string{"d", "d"}, []string{"sq"}))
	} else {
		nodes = append(nodes, node("Constant", nil, []string{"two"}, tensorAttr(graph.ScalarFloat32(2))),
			node("Pow", []string{"d", "two"}, []string{"sq"}))
	}
	nodes = append(nodes, sum...)
	switch root {
	case "pow", "half":
		e := float32(0.49999976)
		if root == "half" {
			e = 0.5
		}
		nodes = append(nodes, node("Constant", nil, []string{"e"}, tensorAttr(graph.FromFloat32([]int{1}, []float32{e}))),
			node("Pow", []string{"ss", "e"}, []string{"dist"}))
	case "sqrt":
		nodes = append(nodes, node("Sqrt", []string{"ss"}, []string{"dist"}))
	default:
		nodes = append(nodes, node("Identity", []string{"ss"}, []string{"dist"}))
	}
	nodes = append(nodes, node("ReduceMin", []string{"dist"}, []string{"score"},
		&graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: []int64{1}}, graph.IntAttr("keepdims", 0)))
	g := &graph.Graph{
		Name:         "cdist",
		Nodes:        nodes,
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(4, 8), HasShape: true}},
		Outputs:      []*graph.Value{{Name: "score", DType: graph.Float32}, {Name: "dist", DType: graph.Float32}},
		Initializers: map[string]*graph.Tensor{"y": randF32(rng, 1, 5, 8)},
		Values:       map[string]*graph.Value{},
	}
	if opset >= 18 {
		// ReduceMin takes its axes as an input too.
		g.Initializers["minaxes"] = graph.FromInt64([]int{1}, []int64{1})
		last := g.Nodes[len(g.Nodes)-1]
		last.Inputs = []string{"dist", "minaxes"}
		delete(last.Attrs, "axes")
	}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": opset}, Metadata: map[string]string{}}
}

func TestSumSquares(t *testing.T) {
	for _, c := range []struct {
		name         string
		opset        int64
		square, root string
		edit         func(m *graph.Model)
		want         string // the reduction after the rewrite
		pows         int    // Pow nodes left
	}{
		{name: "torch.cdist, opset 13", opset: 13, square: "pow", root: "pow", want: "ReduceSumSquare", pows: 1},
		{name: "torch.cdist, opset 18 (axes input kept)", opset: 18, square: "pow", root: "pow", want: "ReduceSumSquare", pows: 1},
		{name: "opset 11 (axes attribute)", opset: 11, square: "pow", root: "pow", want: "ReduceSumSquare", pows: 1},
		{name: "Mul(d, d) then Sqrt: ReduceL2", opset: 13, square: "mul", root: "sqrt", want: "ReduceL2"},
		{name: "Pow 0.5: ReduceL2", opset: 13, square: "pow", root: "half", want: "ReduceL2"},
		{name: "no root", opset: 13, square: "mul", root: "", want: "ReduceSumSquare"},
		{name: "square read twice stays", opset: 13, square: "pow", root: "pow", want: "ReduceSum", pows: 2,
			edit: func(m *graph.Model) {
				m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "sq", DType: graph.Float32})
			}},
		{name: "cube stays", opset: 13, square: "pow", root: "pow", want: "ReduceSum", pows: 2,
			edit: func(m *graph.Model) { m.Graph.Nodes[3].Attrs["value"] = tensorAttr(graph.ScalarFloat32(3)) }},
		{name: "noop_with_empty_axes without axes stays", opset: 13, square: "pow", root: "pow", want: "ReduceSum", pows: 2,
			edit: func(m *graph.Model) {
				for _, n := range m.Graph.Nodes {
					if n.OpType == "ReduceSum" {
						n.Inputs = n.Inputs[:1]
						n.Attrs["noop_with_empty_axes"] = graph.IntAttr("noop_with_empty_axes", 1)
					}
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(21))
			src := cdistModel(rng, c.opset, c.square, c.root)
			if c.edit != nil {
				c.edit(src)
			}
			in := map[string]*graph.Tensor{"x": randF32(rng, 4, 8)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval(), SumSquares: true})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			assert.Equal(t, 1, ops[c.want], "%v %s", ops, st)
			assert.Equal(t, c.pows, ops["Pow"], "%v", ops)
			if c.want != "ReduceSum" {
				assert.Zero(t, ops["ReduceSum"]+ops["Mul"]+ops["Sqrt"], "%v", ops)
				assert.Positive(t, st.SumSquares)
			}
			// The same values as the graph as written, within float tolerance
			// (the square is no longer rounded to float32 before the sum).
			got := run(t, m, in)
			for _, o := range []string{"score", "dist"} {
				require.Equal(t, want[o].Shape, got[o].Shape, o)
				for i, w := range want[o].F32() {
					assert.InDelta(t, w, got[o].F32()[i], 4e-7*math.Max(1, math.Abs(float64(w))), "%s[%d]", o, i)
				}
			}
			// Without the option the quantizer's graph keeps the square.
			q := cloneGraph(src)
			_, err = optimize.Optimize(q, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			assert.Zero(t, opTypes(q.Graph)["ReduceSumSquare"]+opTypes(q.Graph)["ReduceL2"])
		})
	}
}
