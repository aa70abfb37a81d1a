package graph

import "math"

// FoldWeightQDQ folds every float initializer that feeds a QuantizeLinear whose
// scale and zero point are constants (per tensor or per axis) into the quantized
// initializer that QuantizeLinear would produce, so that QuantizeLinear ->
// DequantizeLinear around float weights (how PyTorch and other frameworks export
// fake-quantized QAT models) becomes the DequantizeLinear-of-a-constant form that the
// int8 lowering and the NPU compiler treat as int8 weights. The result is exact: the
// folded initializer is what QuantizeLinear computes (round half to even, saturate).
//
// m is not modified: when something is folded the result is a copy with its own
// node list and initializer map (tensors are shared); otherwise m itself is returned.
func FoldWeightQDQ(m *Model) *Model {
	if m == nil || m.Graph == nil {
		return m
	}
	g := m.Graph
	cons := g.Consumers()
	folded := map[*Node]*Tensor{}
	for _, n := range g.Nodes {
		if n.OpType != "QuantizeLinear" || n.Domain != "" || len(n.Outputs) != 1 {
			continue
		}
		if q := foldQuantize(g, n, cons); q != nil {
			folded[n] = q
		}
	}
	if len(folded) == 0 {
		return m
	}
	ng := *g
	ng.Nodes = make([]*Node, 0, len(g.Nodes)-len(folded))
	ng.Initializers = make(map[string]*Tensor, len(g.Initializers)+len(folded))
	for k, v := range g.Initializers {
		ng.Initializers[k] = v
	}
	ng.Values = make(map[string]*Value, len(g.Values))
	for k, v := range g.Values {
		ng.Values[k] = v
	}
	for _, n := range g.Nodes {
		q, ok := folded[n]
		if !ok {
			ng.Nodes = append(ng.Nodes, n)
			continue
		}
		out := n.Outputs[0]
		ng.Initializers[out] = q
		ng.Values[out] = &Value{Name: out, DType: q.DType, Shape: ShapeOf(q.Shape...), HasShape: true}
	}
	nm := *m
	nm.Graph = &ng
	// Float weights read only by the folded QuantizeLinear nodes are dropped.
	used := map[string]bool{}
	for _, n := range ng.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, o := range ng.Outputs {
		used[o.Name] = true
	}
	for q := range folded {
		if w := q.Input(0); !used[w] {
			delete(ng.Initializers, w)
			delete(ng.Values, w)
		}
	}
	return &nm
}

// foldQuantize returns the quantized value of a QuantizeLinear of a float
// initializer, or nil when it is not constant or feeds anything but DequantizeLinear
// (the quantized tensor itself is then observable and stays computed).
func foldQuantize(g *Graph, n *Node, cons map[string][]*Node) *Tensor {
	x := g.Initializers[n.Input(0)]
	s := g.Initializers[n.Input(1)]
	if x == nil || s == nil || x.DType != Float32 || g.IsGraphOutput(n.Outputs[0]) {
		return nil
	}
	if len(cons[n.Outputs[0]]) == 0 {
		return nil
	}
	for _, c := range cons[n.Outputs[0]] {
		if c.OpType != "DequantizeLinear" || c.Input(0) != n.Outputs[0] {
			return nil
		}
	}
	scale, err := s.AsFloat64()
	if err != nil || len(scale) == 0 {
		return nil
	}
	dt := Uint8
	var zp []int64
	if name := n.Input(2); name != "" {
		z := g.Initializers[name]
		if z == nil || (z.DType != Int8 && z.DType != Uint8) {
			return nil
		}
		dt = z.DType
		if zp, err = z.AsInt64(); err != nil || len(zp) != len(scale) {
			return nil
		}
	} else {
		zp = make([]int64, len(scale))
	}
	// Per-axis parameters are 1-D; a per-tensor scale may be a scalar or [1].
	ch, inner := 1, x.Len()
	if len(scale) > 1 {
		if len(s.Shape) != 1 {
			return nil
		}
		a, err := NormalizeAxis(n.AttrInt("axis", 1), len(x.Shape))
		if err != nil || x.Shape[a] != len(scale) {
			return nil
		}
		ch = len(scale)
		inner = 1
		for _, d := range x.Shape[a+1:] {
			inner *= d
		}
	}
	lo, hi := -128.0, 127.0
	if dt == Uint8 {
		lo, hi = 0, 255
	}
	src := x.F32()
	out := NewTensor(dt, x.Shape)
	for i, v := range src {
		c := (i / inner) % ch
		if !(scale[c] > 0) {
			return nil
		}
		// float32 division, as QuantizeLinear (and ONNX Runtime) computes it
		q := math.RoundToEven(float64(v/float32(scale[c]))) + float64(zp[c])
		q = math.Max(lo, math.Min(hi, q))
		if dt == Int8 {
			out.I8()[i] = int8(q)
		} else {
			out.U8()[i] = uint8(q)
		}
	}
	return out
}
