package optimize

// Converters from other frameworks (paddle2onnx's elementwise sums, tf2onnx's
// AddN, Caffe's Eltwise SUM) write a residual or multi-branch join as one
// variadic Sum. Written as a chain of Adds it is the same arithmetic (ONNX
// Runtime's Sum also accumulates the inputs left to right in float32), and
// every consumer of the graph knows Add: the quantizer gives it an int8
// operator (a Sum stayed float32 between a Dequantize and a Quantize), QAT has
// its gradient (`warboy qat` refused a Sum), and the simulator runs it on the
// NPU.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// sumToAdds rewrites a Sum of two or more inputs as a chain of Adds, left to
// right, the last one writing the Sum's output; a Sum of one input becomes an
// Identity (removed afterwards). Before opset 8 Sum did not broadcast and
// Add's broadcasting differed: those are left alone. It returns the number of
// Sums rewritten.
func sumToAdds(g *graph.Graph, opset int64) int {
	if opset < 8 {
		return 0
	}
	count := 0
	var nodes []*graph.Node
	for _, n := range g.Nodes {
		if !isOp(n, "Sum") || len(n.Outputs) != 1 || len(n.Inputs) == 0 || hasEmpty(n.Inputs) {
			nodes = append(nodes, n)
			continue
		}
		count++
		if len(n.Inputs) == 1 {
			n.OpType, n.Attrs = "Identity", map[string]*graph.Attr{}
			nodes = append(nodes, n)
			continue
		}
		base := n.Name
		if base == "" {
			base = n.Outputs[0]
		}
		acc := n.Inputs[0]
		for i, x := range n.Inputs[1:] {
			out := n.Outputs[0]
			if i < len(n.Inputs)-2 {
				out = uniqueName(g, base+"_partial")
				g.Values[out] = partialValue(g, acc, x, out)
			}
			name := n.Name // the last Add keeps the Sum's name
			if out != n.Outputs[0] {
				name = fmt.Sprintf("%s_add%d", base, i)
			}
			nodes = append(nodes, &graph.Node{Name: name, OpType: "Add", Inputs: []string{acc, x}, Outputs: []string{out},
				Attrs: map[string]*graph.Attr{}})
			acc = out
		}
	}
	g.Nodes = nodes
	return count
}

// partialValue describes an intermediate sum of a and b: their element type and,
// when both shapes are known, the broadcast shape (left unknown otherwise, for
// shape inference to fill in).
func partialValue(g *graph.Graph, a, b, name string) *graph.Value {
	v := &graph.Value{Name: name}
	va, vb := valueOf(g, a), valueOf(g, b)
	if va == nil {
		return v
	}
	v.DType = va.DType
	if vb != nil && va.HasShape && vb.HasShape {
		if s, err := graph.BroadcastShapes(va.Shape, vb.Shape); err == nil {
			v.Shape, v.HasShape = s, true
		}
	}
	return v
}

// valueOf returns the description of tensor name: a value, a graph input or an
// initializer.
func valueOf(g *graph.Graph, name string) *graph.Value {
	if v := g.Values[name]; v != nil {
		return v
	}
	if v := g.Input(name); v != nil {
		return v
	}
	if t := g.Initializers[name]; t != nil {
		return &graph.Value{Name: name, DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
	}
	return nil
}

func hasEmpty(names []string) bool {
	for _, s := range names {
		if s == "" {
			return true
		}
	}
	return false
}
