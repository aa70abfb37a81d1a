package optimize

// A Split of which one output alone is read is a Slice of that output's range
// (thirteenth session). YOLOv4-tiny's CSP blocks take the second half of the
// channels as torch.split(x, c/2)[1]: torch.onnx writes a two-output Split
// whose first output nobody reads. The runtime's channels-last pass and the
// int8 lowering know a channel Slice (a view-like copy of the pixels' channel
// range); a Split, unknown there, cut the chain: the convolution before wrote
// NCHW and the Concat after it transposed.

import (
	"github.com/warboy-sim/warboy/graph"
)

// splitToSlice rewrites each Split with constant sizes (the attribute, the
// input at opset 13+, or an even split of a static dimension) whose outputs
// but one are unread as a Slice of that one's range. Slice takes its
// bounds as inputs from opset 10 on; below that nothing is rewritten. It
// returns the number of Splits rewritten.
func splitToSlice(g *graph.Graph, keep map[string]bool, opset int64) int {
	if opset < 10 {
		return 0
	}
	cons := g.Consumers()
	used := func(name string) bool { return name != "" && (len(cons[name]) > 0 || keep[name]) }
	count := 0
	for _, n := range g.Nodes {
		if !isOp(n, "Split") || len(n.Inputs) == 0 || n.Inputs[0] == "" || len(n.Outputs) < 2 {
			continue
		}
		k := -1
		for i, o := range n.Outputs {
			if used(o) {
				if k >= 0 {
					k = -2
					break
				}
				k = i
			}
		}
		if k < 0 {
			continue
		}
		sizes, axis, ok := splitSizes(g, n, opset)
		if !ok || len(sizes) != len(n.Outputs) {
			continue
		}
		start := int64(0)
		for _, s := range sizes[:k] {
			start += s
		}
		base := n.Name
		if base == "" {
			base = n.Outputs[k]
		}
		consts := make([]string, 3)
		for i, v := range []int64{start, start + sizes[k], axis} {
			consts[i] = uniqueName(g, base+[]string{"_starts", "_ends", "_axes"}[i])
			g.Initializers[consts[i]] = graph.FromInt64([]int{1}, []int64{v})
			g.Values[consts[i]] = &graph.Value{Name: consts[i], DType: graph.Int64, Shape: graph.ShapeOf(1), HasShape: true}
		}
		n.OpType = "Slice"
		n.Inputs = []string{n.Inputs[0], consts[0], consts[1], consts[2]}
		n.Outputs = []string{n.Outputs[k]}
		n.Attrs = map[string]*graph.Attr{}
		count++
	}
	return count
}

// splitSizes returns the sizes and the (non-negative) axis of a Split, when
// they are constants.
func splitSizes(g *graph.Graph, n *graph.Node, opset int64) ([]int64, int64, bool) {
	axis := n.AttrInt("axis", 0)
	v := valueOf(g, n.Inputs[0])
	if axis < 0 {
		if v == nil || !v.HasShape {
			return nil, 0, false
		}
		axis += int64(len(v.Shape))
	}
	if opset >= 13 {
		if len(n.Inputs) > 1 && n.Inputs[1] != "" {
			t := g.Initializers[n.Inputs[1]]
			if t == nil || t.DType != graph.Int64 {
				return nil, 0, false
			}
			return append([]int64(nil), t.I64()...), axis, true
		}
	} else if s := n.AttrInts("split", nil); len(s) > 0 {
		return append([]int64(nil), s...), axis, true
	}
	// An even split of a static dimension.
	if v == nil || !v.HasShape || int(axis) >= len(v.Shape) || v.Shape[axis].Size <= 0 || n.AttrInt("num_outputs", 0) != 0 {
		return nil, 0, false
	}
	d, parts := int64(v.Shape[axis].Size), int64(len(n.Outputs))
	if d%parts != 0 {
		return nil, 0, false
	}
	sizes := make([]int64, parts)
	for i := range sizes {
		sizes[i] = d / parts
	}
	return sizes, axis, true
}
