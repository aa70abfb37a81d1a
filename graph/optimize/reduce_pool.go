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

// reduceMeanToPool rewrites ReduceMean over all spatial axes of a float 4-D
// (NCHW) or 5-D (NCDHW, a video or volume net's x.mean([2, 3, 4])) tensor as
// GlobalAveragePool, followed, when keepdims is 0, by a Flatten from axis 1
// (the pooled [N, C, 1, 1(, 1)] is then [N, C]); and ReduceMean over one
// spatial axis of a 4-D tensor whose size is static (x.mean(2): a column or
// row profile, adaptive_odd's head) as an AveragePool whose window is that
// whole axis, followed, when keepdims is 0, by a Reshape to [0, 0, -1] (the
// pooled [N, C, 1, W] or [N, C, H, 1] is then [N, C, W] or [N, C, H]); the
// pools run channels-last and in int8 where a ReduceMean runs NCHW and in
// float32. Rank 3 is left alone: there the last axis is as often a
// transformer's features ([N, L, D], whose LayerNorm means the fusions must
// still recognise) as a 1-D signal's length. A mean that a Sub takes from
// its own input (the first step of an instance or layer normalisation
// written out) stays too, and so does a mean over one axis of a square (its
// variance). A ReduceMax over all spatial axes (slicenet's x.amax([2, 3]))
// is a GlobalMaxPool the same way. It returns the number of nodes rewritten.
func reduceMeanToPool(g *graph.Graph, opset int64) int {
	count := 0
	cons := g.Consumers()
	prod := g.Producers()
	var nodes []*graph.Node
	for _, n := range g.Nodes {
		nodes = append(nodes, n)
		isMean := isOp(n, "ReduceMean")
		if !isMean && !isOp(n, "ReduceMax") || len(n.Inputs) == 0 || len(n.Outputs) != 1 || n.Inputs[0] == "" {
			continue
		}
		if isMean && centres(n, cons[n.Outputs[0]]) {
			continue
		}
		x := g.Values[n.Inputs[0]]
		if x == nil || !x.HasShape || (len(x.Shape) != 4 && len(x.Shape) != 5) ||
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
		keep := n.AttrInt("keepdims", 1) != 0
		y := n.Outputs[0]
		if !spatialAxes(axes, r) {
			if a, ok := oneSpatialAxis(axes, x.Shape); isMean && ok && opset >= 5 && !squares(prod[n.Inputs[0]]) {
				nodes = append(nodes, meanAsWindow(g, n, x, a, keep)...)
				count++
			}
			continue
		}
		pool := "GlobalAveragePool"
		if !isMean {
			pool = "GlobalMaxPool"
		}
		if keep {
			n.OpType, n.Inputs, n.Attrs = pool, n.Inputs[:1], map[string]*graph.Attr{}
			count++
			continue
		}
		pooled := uniqueName(g, y+"_pooled")
		shape := append(graph.Shape(nil), x.Shape[:2]...)
		for i := int64(2); i < r; i++ {
			shape = append(shape, graph.Dim{Size: 1})
		}
		g.Values[pooled] = &graph.Value{Name: pooled, DType: x.DType, Shape: shape, HasShape: true}
		n.OpType, n.Inputs, n.Outputs, n.Attrs = pool, n.Inputs[:1], []string{pooled}, map[string]*graph.Attr{}
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

// squares reports whether p squares its input (Pow by 2, or Mul of a value
// by itself): a mean of it over one axis is the variance of a normalisation
// written out over the last axis of a channels-last 4-D tensor
// (ReduceMean, Sub, Pow, ReduceMean, ...), which the fusions must still see.
func squares(p *graph.Node) bool {
	if p == nil || len(p.Inputs) != 2 {
		return false
	}
	return isOp(p, "Pow") || isOp(p, "Mul") && p.Inputs[0] == p.Inputs[1]
}

// oneSpatialAxis returns the axis when axes name exactly one spatial axis of
// a 4-D shape and its size is static.
func oneSpatialAxis(axes []int64, shape graph.Shape) (int, bool) {
	if len(shape) != 4 || len(axes) != 1 {
		return 0, false
	}
	a := axes[0]
	if a < 0 {
		a += 4
	}
	if a != 2 && a != 3 || shape[a].Size <= 0 {
		return 0, false
	}
	return int(a), true
}

// meanAsWindow rewrites the ReduceMean n over spatial axis a of the 4-D x
// as an AveragePool whose window spans that axis (one output position along
// it), and returns the Reshape that drops the pooled axis when keepdims is
// 0 (nil otherwise). The pool's output takes the mean's name when it is the
// result.
func meanAsWindow(g *graph.Graph, n *graph.Node, x *graph.Value, a int, keep bool) []*graph.Node {
	kernel := []int64{1, 1}
	kernel[a-2] = int64(x.Shape[a].Size)
	y := n.Outputs[0]
	n.OpType, n.Inputs, n.Attrs = "AveragePool", n.Inputs[:1], map[string]*graph.Attr{}
	n.SetAttrInts("kernel_shape", kernel)
	if keep {
		return nil
	}
	pooled := uniqueName(g, y+"_pooled")
	shape := append(graph.Shape(nil), x.Shape...)
	shape[a] = graph.Dim{Size: 1}
	g.Values[pooled] = &graph.Value{Name: pooled, DType: x.DType, Shape: shape, HasShape: true}
	n.Outputs = []string{pooled}
	fname := n.Name
	if fname == "" {
		fname = y
	}
	target := uniqueName(g, fname+"_shape")
	g.Initializers[target] = graph.FromInt64([]int{3}, []int64{0, 0, -1})
	g.Values[target] = &graph.Value{Name: target, DType: graph.Int64, Shape: graph.ShapeOf(3), HasShape: true}
	return []*graph.Node{{Name: fname + "_reshape", OpType: "Reshape", Inputs: []string{pooled, target}, Outputs: []string{y},
		Attrs: map[string]*graph.Attr{}}}
}
