package optimize

// Sums of squares and their roots written out (twenty-first session):
// torch.cdist exports as Sub → Pow(·, 2) → ReduceSum(last axis) → Pow(·,
// 0.5 or 0.49999976), torch.norm and F.normalize as Pow 2 or Mul(x, x) →
// ReduceSum → Sqrt (or Pow 0.5). ONNX has the fused operators:
// ReduceSumSquare(x) is ReduceSum(x²) and ReduceL2(x) is its square root.
// Written as them, the square is never materialised (PatchCore's
// [256,200,56] square was 11.5 MB written and read again) and the runtime
// sees the Sub → ReduceSumSquare pair as one distance reduction
// (runtime/fuse_distance.go). The executor squares in float64 (exact for
// float32 inputs) where the square was rounded to float32 first: the sums
// differ in their last bits, within float tolerance.

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// sumSquares rewrites ReduceSum(Pow(x, 2) or Mul(x, x)) as
// ReduceSumSquare(x), and Sqrt(ReduceSumSquare(x)) or Pow(ReduceSumSquare(x),
// 0.5) as ReduceL2(x), where the intermediate tensor has no other reader and
// is not kept. Below opset 18 ReduceSumSquare takes its axes as an attribute:
// a ReduceSum-13 whose axes input is not an int64 initializer, or that has
// noop_with_empty_axes set without axes, stays. Only float32, float64 and
// float16 tensors are rewritten. It returns the number of nodes rewritten.
func sumSquares(g *graph.Graph, keep map[string]bool, opset int64) int {
	count := 0
	cons := g.Consumers()
	prod := g.Producers()
	sole := func(name string, reader *graph.Node) bool {
		r := cons[name]
		return len(r) == 1 && r[0] == reader && !keep[name] && !g.IsGraphOutput(name)
	}
	removed := map[*graph.Node]bool{}
	for _, n := range g.Nodes {
		if !isOp(n, "ReduceSum") || len(n.Inputs) == 0 || len(n.Outputs) != 1 || n.Inputs[0] == "" {
			continue
		}
		sq := prod[n.Inputs[0]]
		x, ok := squaredInput(g, sq)
		if !ok || !sole(n.Inputs[0], n) || !floatValue(g, x) {
			continue
		}
		attrs, inputs, ok := sumSquareForm(g, n, opset)
		if !ok {
			continue
		}
		inputs[0] = x
		n.OpType, n.Inputs, n.Attrs = "ReduceSumSquare", inputs, attrs
		removed[sq] = true
		count++
	}
	for _, n := range g.Nodes {
		if removed[n] || len(n.Inputs) == 0 || len(n.Outputs) != 1 {
			continue
		}
		root := isOp(n, "Sqrt") && len(n.Inputs) == 1 ||
			isOp(n, "Pow") && len(n.Inputs) == 2 && scalarValue(g.Initializers[n.Inputs[1]]) == 0.5
		if !root {
			continue
		}
		r := prod[n.Inputs[0]]
		if r == nil || !isOp(r, "ReduceSumSquare") || len(r.Outputs) != 1 || !sole(n.Inputs[0], n) {
			continue
		}
		r.OpType, r.Outputs = "ReduceL2", []string{n.Outputs[0]}
		removed[n] = true
		count++
	}
	if len(removed) > 0 {
		var nodes []*graph.Node
		for _, n := range g.Nodes {
			if !removed[n] {
				nodes = append(nodes, n)
			}
		}
		g.Nodes = nodes
	}
	return count
}

// squaredInput returns x when p is Pow(x, 2) (a one-element constant
// exponent) or Mul(x, x).
func squaredInput(g *graph.Graph, p *graph.Node) (string, bool) {
	if p == nil || len(p.Inputs) != 2 || len(p.Outputs) != 1 || p.Inputs[0] == "" {
		return "", false
	}
	switch {
	case isOp(p, "Pow") && scalarValue(g.Initializers[p.Inputs[1]]) == 2:
		return p.Inputs[0], true
	case isOp(p, "Mul") && p.Inputs[0] == p.Inputs[1]:
		return p.Inputs[0], true
	}
	return "", false
}

// floatValue reports whether the tensor is known to be float32, float64 or
// float16.
func floatValue(g *graph.Graph, name string) bool {
	var dt graph.DType
	switch {
	case g.Initializers[name] != nil:
		dt = g.Initializers[name].DType
	case g.Values[name] != nil:
		dt = g.Values[name].DType
	case g.Input(name) != nil:
		dt = g.Input(name).DType
	}
	return dt == graph.Float32 || dt == graph.Float64 || dt == graph.Float16
}

// scalarValue is the value of a one-element numeric tensor (NaN otherwise).
func scalarValue(t *graph.Tensor) float64 {
	if t == nil || t.Len() != 1 {
		return math.NaN()
	}
	switch t.DType {
	case graph.Float32, graph.Float64, graph.Float16, graph.Int32, graph.Int64:
	default:
		return math.NaN()
	}
	v, err := t.AsFloat64()
	if err != nil || len(v) != 1 {
		return math.NaN()
	}
	return v[0]
}

// sumSquareForm returns the attributes and inputs of a ReduceSumSquare
// reducing what the ReduceSum n reduces (input 0 to be set by the caller).
func sumSquareForm(g *graph.Graph, n *graph.Node, opset int64) (map[string]*graph.Attr, []string, bool) {
	attrs := map[string]*graph.Attr{}
	for k, v := range n.Attrs {
		attrs[k] = v
	}
	inputs := append([]string(nil), n.Inputs...)
	if opset < 13 || opset >= 18 {
		return attrs, inputs, true // the same form for both operators
	}
	// ReduceSum-13: axes an input; ReduceSumSquare-13: an attribute, and no
	// noop_with_empty_axes.
	noop := n.AttrInt("noop_with_empty_axes", 0) != 0
	delete(attrs, "noop_with_empty_axes")
	if len(inputs) < 2 || inputs[1] == "" {
		return attrs, inputs[:1], !noop
	}
	t := g.Initializers[inputs[1]]
	if t == nil || t.DType != graph.Int64 {
		return nil, nil, false
	}
	if len(t.I64()) == 0 {
		return attrs, inputs[:1], !noop
	}
	attrs["axes"] = &graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: append([]int64(nil), t.I64()...)}
	return attrs, inputs[:1], true
}
