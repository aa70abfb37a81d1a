package optimize

// torch.onnx writes nn.LocalResponseNorm (F.local_response_norm) not as the
// ONNX LRN operator but as its definition: the squares x·x, unsqueezed to
// [N, 1, C, ...], a zero Pad of the channel axis (folded into the pool by
// pad_fold.go), a 3-D (2-D for [N, C, L]) AveragePool of kernel (size, 1, 1)
// over the channels, squeezed and reshaped back, then ·α, +k, ^β and x / that.
// The executors ran the pool on a generic N-D kernel and the Pow as float64
// math per element (--unseen6's lrn_acts: 0.32 of its 0.46 ms, 5x ONNX
// Runtime). Written as one LRN(size, α, β, bias = k) node it runs on the
// runtime's channel-window kernel. The window is the same only for an odd
// size (torch pads size/2 before and (size−1)/2 after, ONNX the other way
// round), so even sizes are left alone. The sum is the same; the rounding
// differs (the LRN scales the sum by α/size once).

import (
	"github.com/warboy-sim/warboy/graph"
)

// foldLRN rewrites each torch-spelled local response normalisation into an
// LRN node and returns how many; the nodes it replaces are left for
// removeDead.
func foldLRN(g *graph.Graph, keep map[string]bool) int {
	cons := g.Consumers()
	producer := map[string]*graph.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			producer[o] = n
		}
	}
	// sole returns the producer of v if v is an intermediate read once.
	sole := func(v string) *graph.Node {
		if keep[v] || g.IsGraphOutput(v) || len(cons[v]) != 1 {
			return nil
		}
		return producer[v]
	}
	count := 0
	for _, d := range g.Nodes {
		if !isOp(d, "Div") || len(d.Inputs) != 2 || len(d.Outputs) != 1 {
			continue
		}
		x := d.Inputs[0]
		xv := g.Values[x]
		if xv == nil || !xv.HasShape || len(xv.Shape) < 3 || xv.DType != graph.Float32 {
			continue
		}
		pw := sole(d.Inputs[1])
		if pw == nil || !isOp(pw, "Pow") || len(pw.Inputs) != 2 {
			continue
		}
		beta, ok := scalarF32(g, pw.Inputs[1])
		if !ok {
			continue
		}
		add := sole(pw.Inputs[0])
		if add == nil || !isOp(add, "Add") || len(add.Inputs) != 2 {
			continue
		}
		mv, kv := add.Inputs[0], add.Inputs[1]
		bias, ok := scalarF32(g, kv)
		if !ok {
			if bias, ok = scalarF32(g, mv); !ok {
				continue
			}
			mv = kv
		}
		mul := sole(mv)
		if mul == nil || !isOp(mul, "Mul") || len(mul.Inputs) != 2 {
			continue
		}
		rv, av := mul.Inputs[0], mul.Inputs[1]
		alpha, ok := scalarF32(g, av)
		if !ok {
			if alpha, ok = scalarF32(g, rv); !ok {
				continue
			}
			rv = av
		}
		// Back through the Squeeze/Reshape/Unsqueeze to the pool.
		ap := sole(rv)
		for ap != nil && reshapeLike(ap) {
			ap = sole(ap.Inputs[0])
		}
		if ap == nil || !isOp(ap, "AveragePool") || len(ap.Inputs) != 1 || len(ap.Outputs) != 1 {
			continue
		}
		size, ok := channelWindow(g, ap, xv)
		if !ok {
			continue
		}
		sq := sole(ap.Inputs[0])
		for sq != nil && reshapeLike(sq) {
			sq = sole(sq.Inputs[0])
		}
		if sq == nil || !isSquareOf(g, sq, x) {
			continue
		}
		d.OpType, d.Inputs = "LRN", []string{x}
		d.Attrs = map[string]*graph.Attr{}
		d.SetAttrInt("size", int64(size))
		d.Attrs["alpha"] = graph.FloatAttr("alpha", alpha)
		d.Attrs["beta"] = graph.FloatAttr("beta", beta)
		d.Attrs["bias"] = graph.FloatAttr("bias", bias)
		count++
	}
	return count
}

// reshapeLike reports a node that only relabels the shape of its first input.
func reshapeLike(n *graph.Node) bool {
	return (isOp(n, "Reshape") || isOp(n, "Squeeze") || isOp(n, "Unsqueeze") || isOp(n, "Flatten")) &&
		len(n.Inputs) >= 1 && len(n.Outputs) == 1
}

// channelWindow checks that AveragePool ap averages over x's channels alone,
// as torch writes it: input [N, 1, C, ...] holding x's elements, kernel
// (size, 1, ...), strides 1, zero pads counted (count_include_pad) of
// (size−1)/2 before and after the channel axis only, no ceil_mode, size odd;
// it returns the size.
func channelWindow(g *graph.Graph, ap *graph.Node, xv *graph.Value) (int, bool) {
	iv := g.Values[ap.Inputs[0]]
	if iv == nil || !iv.HasShape || len(iv.Shape) < 4 {
		return 0, false
	}
	r := len(iv.Shape) - 2
	ks := ap.AttrInts("kernel_shape", nil)
	if len(ks) != r || ks[0] < 1 || ks[0]%2 == 0 {
		return 0, false
	}
	for _, k := range ks[1:] {
		if k != 1 {
			return 0, false
		}
	}
	for _, s := range attrOr(ap, "strides", r, 1) {
		if s != 1 {
			return 0, false
		}
	}
	for _, dl := range attrOr(ap, "dilations", r, 1) {
		if dl != 1 {
			return 0, false
		}
	}
	if a := ap.AttrString("auto_pad", "NOTSET"); a != "NOTSET" && a != "" {
		return 0, false
	}
	half := (ks[0] - 1) / 2
	pads := attrOr(ap, "pads", 2*r, 0)
	for i, p := range pads {
		want := int64(0)
		if i == 0 || i == r {
			want = half
		}
		if p != want {
			return 0, false
		}
	}
	if half > 0 && ap.AttrInt("count_include_pad", 0) == 0 || ap.AttrInt("ceil_mode", 0) != 0 {
		return 0, false
	}
	// [N, 1, C, rest...] with x's N, C and element count.
	if !iv.Shape[1].Known() || iv.Shape[1].Size != 1 || !sameDim(iv.Shape[0], xv.Shape[0]) || !sameDim(iv.Shape[2], xv.Shape[1]) {
		return 0, false
	}
	restIn, restX := 1, 1
	for _, d := range iv.Shape[3:] {
		if !d.Known() {
			return 0, false
		}
		restIn *= d.Size
	}
	for _, d := range xv.Shape[2:] {
		if !d.Known() {
			return 0, false
		}
		restX *= d.Size
	}
	if restIn != restX {
		return 0, false
	}
	return int(ks[0]), true
}

func sameDim(a, b graph.Dim) bool {
	if a.Known() || b.Known() {
		return a.Known() && b.Known() && a.Size == b.Size
	}
	return a.Param != "" && a.Param == b.Param
}

// isSquareOf reports Mul(x, x) or Pow(x, 2).
func isSquareOf(g *graph.Graph, n *graph.Node, x string) bool {
	switch {
	case isOp(n, "Mul") && len(n.Inputs) == 2:
		return n.Inputs[0] == x && n.Inputs[1] == x
	case isOp(n, "Pow") && len(n.Inputs) == 2 && n.Inputs[0] == x:
		e, ok := scalarF32(g, n.Inputs[1])
		return ok && e == 2
	}
	return false
}

// scalarF32 is the value of a one-element float32 initializer.
func scalarF32(g *graph.Graph, name string) (float32, bool) {
	t := g.Initializers[name]
	if t == nil || t.DType != graph.Float32 || t.Len() != 1 {
		return 0, false
	}
	return t.F32()[0], true
}
