package graph

import "math"

// Gather of known dimensions from a partly known shape: torch.onnx writes x.size(1)
// as Shape(x) -> Gather(1), and guards squeeze(dim) with If(Equal(Gather(Shape(x),
// dim), 1)) (torchvision's MultiScaleRoIAlign). When the gathered dimensions are
// known, the Gather is a constant even though the whole shape is not (the number of
// boxes is data-dependent), and the If it feeds can be inlined.

// shapeProducers maps the outputs of g's Shape nodes to those nodes.
func shapeProducers(g *Graph) map[string]*Node {
	p := map[string]*Node{}
	for _, n := range g.Nodes {
		if n.OpType == "Shape" && (n.Domain == "" || n.Domain == "ai.onnx") && len(n.Outputs) > 0 {
			p[n.Outputs[0]] = n
		}
	}
	return p
}

// partialShapeData returns, for a Gather along axis 0 of a Shape output with
// constant indices that all select known dimensions, the shape as a tensor (-1 where
// a dimension is unknown: never selected); nil otherwise.
func partialShapeData(n *Node, ctx *InferContext, shapes map[string]*Node, sc *inferScope) *Tensor {
	if n.OpType != "Gather" || (n.Domain != "" && n.Domain != "ai.onnx") || len(n.Inputs) != 2 || ctx.Const(0) != nil {
		return nil
	}
	idx := ctx.Const(1)
	sn := shapes[n.Inputs[0]]
	if idx == nil || sn == nil || n.AttrInt("axis", 0) != 0 || len(sn.Inputs) == 0 {
		return nil
	}
	x := sc.values[sn.Inputs[0]]
	if x == nil || !x.HasShape {
		return nil
	}
	lo, hi := ShapeRange(len(x.Shape), sn.AttrInt("start", 0), sn.AttrInt("end", math.MaxInt64), sn.HasAttr("end"))
	dims := x.Shape[lo:hi]
	is, err := idx.AsInt64()
	if err != nil || len(is) == 0 {
		return nil
	}
	for _, i := range is {
		if i < 0 {
			i += int64(len(dims))
		}
		if i < 0 || i >= int64(len(dims)) || !dims[i].Known() {
			return nil
		}
	}
	v := make([]int64, len(dims))
	for i, d := range dims {
		v[i] = int64(d.Size) // -1 where unknown; those are never selected
	}
	return FromInt64([]int{len(v)}, v)
}
