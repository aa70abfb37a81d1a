package optimize

// torch.onnx writes x.mean([2, 3]) (MNASNet, ShuffleNetV2, and many hand-written
// heads use it in place of nn.AdaptiveAvgPool2d(1)) as a ReduceMean over the
// spatial axes. It is a global average pooling: written as one, it runs on the
// executors' channels-last pooling kernels, the quantizer gives it an int8
// operator (a ReduceMean stays float32), and the NPU, which has no ReduceMean,
// runs it instead of handing it to the host.

import (
	"github.com/warboy-sim/warboy/graph"
)

// reduceMeanToPool rewrites ReduceMean over both spatial axes (2 and 3) of a
// float 4-D (NCHW) tensor as GlobalAveragePool, followed, when keepdims is 0,
// by a Flatten from axis 1 (the pooled [N, C, 1, 1] is then [N, C]). Rank 3
// is left alone: there the last axis is as often a transformer's features
// ([N, L, D], whose LayerNorm means the fusions must still recognise) as a
// 1-D signal's length. A mean that a Sub takes from its own input (the first
// step of an instance or layer normalisation written out) stays too. It
// returns the number of nodes rewritten.
func reduceMeanToPool(g *graph.Graph, opset int64) int {
	count := 0
	cons := g.Consumers()
	var nodes []*graph.Node
	for _, n := range g.Nodes {
		nodes = append(nodes, n)
		if !isOp(n, "ReduceMean") || len(n.Inputs) == 0 || len(n.Outputs) != 1 || n.Inputs[0] == "" {
			continue
		}
		if centres(n, cons[n.Outputs[0]]) {
			continue
		}
		x := g.Values[n.Inputs[0]]
		if x == nil || !x.HasShape || len(x.Shape) != 4 ||
			(x.DType != graph.Float32 && x.DType != graph.Float16 && x.DType != graph.Float64) {
			continue
		}
		r := int64(len(x.Shape))
		var axes []int64
		switch {
		case opset < 18 && len(n.Inputs) == 1:
			axes = n.AttrInts("axes", nil)
		case opset >= 18 && len(n.Inputs) == 2 && !n.HasAttr("axes"):
			t := g.Initializers[n.Inputs[1]]
			if t == nil || t.DType != graph.Int64 {
				continue
			}
			axes = t.I64()
		default:
			continue
		}
		if !spatialAxes(axes, r) {
			continue
		}
		keep := n.AttrInt("keepdims", 1) != 0
		y := n.Outputs[0]
		if keep {
			n.OpType, n.Inputs, n.Attrs = "GlobalAveragePool", n.Inputs[:1], map[string]*graph.Attr{}
			count++
			continue
		}
		pooled := uniqueName(g, y+"_pooled")
		shape := append(graph.Shape(nil), x.Shape[:2]...)
		for i := int64(2); i < r; i++ {
			shape = append(shape, graph.Dim{Size: 1})
		}
		g.Values[pooled] = &graph.Value{Name: pooled, DType: x.DType, Shape: shape, HasShape: true}
		n.OpType, n.Inputs, n.Outputs, n.Attrs = "GlobalAveragePool", n.Inputs[:1], []string{pooled}, map[string]*graph.Attr{}
		fname := n.Name
		if fname == "" {
			fname = y
		}
		flat := &graph.Node{Name: fname + "_flatten", OpType: "Flatten", Inputs: []string{pooled}, Outputs: []string{y},
			Attrs: map[string]*graph.Attr{}}
		flat.SetAttrInt("axis", 1)
		nodes = append(nodes, flat)
		count++
	}
	g.Nodes = nodes
	return count
}

// centres reports whether a Sub among the readers of a mean subtracts it from
// the mean's own input.
func centres(mean *graph.Node, readers []*graph.Node) bool {
	for _, r := range readers {
		if isOp(r, "Sub") && len(r.Inputs) == 2 && r.Inputs[0] == mean.Inputs[0] && r.Inputs[1] == mean.Outputs[0] {
			return true
		}
	}
	return false
}

// spatialAxes reports whether axes (negative ones counted from the end) are
// exactly 2, ..., r-1, each once.
func spatialAxes(axes []int64, r int64) bool {
	if int64(len(axes)) != r-2 {
		return false
	}
	seen := make([]bool, r)
	for _, a := range axes {
		if a < 0 {
			a += r
		}
		if a < 2 || a >= r || seen[a] {
			return false
		}
		seen[a] = true
	}
	return true
}
