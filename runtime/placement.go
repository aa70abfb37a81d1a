package runtime

import "github.com/warboy-sim/warboy/graph"

// shapeNodes returns the nodes of g that only compute shapes: Shape and Size, and the
// integer arithmetic and data movement (Gather, Unsqueeze, Concat, Cast, Slice, Mul, ...)
// over their results. They run on a few int64 values, on the host, and disappear once
// the input shapes are bound (shape inference folds them); they are neither int8 nor a
// float island of the activations.
func shapeNodes(g *graph.Graph) map[*graph.Node]bool {
	derived := map[string]bool{}
	out := map[*graph.Node]bool{}
	for _, n := range g.Nodes {
		ok := false
		switch n.OpType {
		case "Shape", "Size":
			ok = n.Domain == ""
		default:
			ok = len(n.Inputs) > 0
			for _, in := range n.Inputs {
				if in != "" && !derived[in] && g.Initializers[in] == nil {
					ok = false
					break
				}
			}
			// ConstantOfShape fills a tensor of a computed shape (an RNN's zero initial
			// state): its output is float, but it is as constant as the shape.
			for _, o := range n.Outputs {
				if v := g.Values[o]; n.OpType != "ConstantOfShape" && o != "" && v != nil && (v.DType.IsFloat() || v.DType == graph.Int8 || v.DType == graph.Uint8) {
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		out[n] = true
		for _, o := range n.Outputs {
			derived[o] = true
		}
	}
	return out
}
