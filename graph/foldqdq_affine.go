package graph

import "math"

// FoldQATWeights prepares a quantization-aware-trained export for int8 execution:
// FoldWeightQDQ (fake-quantized float weights become int8 constants), then
// FoldDQWeightAffine (the per-channel scaling PyTorch's fused Conv-BN QAT modules leave
// after the convolution is folded into the weights' scales and the bias). m is not
// modified.
func FoldQATWeights(m *Model) *Model {
	return FoldDQWeightAffine(FoldWeightQDQ(m))
}

// FoldDQWeightAffine folds a per-output-channel affine map applied to the output of a
// Conv or Gemm whose weight is a DequantizeLinear of an int8/uint8 constant into that
// DequantizeLinear's scale and the layer's bias. PyTorch's eager-mode QAT modules
// ConvBn2d/ConvBnReLU2d, exported before convert, compute
//
//	Conv(x, DQ(Q(w·f))) / f  →  BatchNormalization(γ, β, mean, var)  [→ Relu]
//
// with f = γ/√(var+ε) constant in an exported (eval-mode) model; the division and the
// normalization scale channel c by a_c and shift it by o_c. Since a convolution is
// linear in its weight's per-channel scale, Conv(x, DQ(q, s))·a + o equals
// Conv(x, DQ(q, s·a)) + o exactly in real arithmetic, and the folded form is a
// convolution with int8 weights followed by the activation, which the int8 lowering and
// the NPU compiler run as one int8 layer. The maps folded are Mul and Div by a constant,
// Add and Sub of a constant (constants broadcast along the channel axis only) and
// BatchNormalization in inference form with constant parameters, repeatedly (a chain
// Div → BatchNormalization folds into one layer). A map is folded only when the layer's
// output feeds it alone and every channel's factor is positive and finite (a negative
// factor would need negated weights, which int8 cannot always hold); anything else is
// left as it is.
//
// m is not modified: when something is folded the result is a copy with its own node
// list, initializer map and value map; otherwise m itself is returned.
func FoldDQWeightAffine(m *Model) *Model {
	if m == nil || m.Graph == nil {
		return m
	}
	var ng *Graph
	for {
		g := m.Graph
		if ng != nil {
			g = ng
		}
		f := findDQAffine(g)
		if f == nil {
			break
		}
		if ng == nil {
			ng = copyGraphShallow(g)
		}
		f.apply(ng)
	}
	if ng == nil {
		return m
	}
	nm := *m
	nm.Graph = ng
	return &nm
}

func copyGraphShallow(g *Graph) *Graph {
	ng := *g
	ng.Nodes = append([]*Node(nil), g.Nodes...)
	ng.Initializers = make(map[string]*Tensor, len(g.Initializers))
	for k, v := range g.Initializers {
		ng.Initializers[k] = v
	}
	ng.Values = make(map[string]*Value, len(g.Values))
	for k, v := range g.Values {
		ng.Values[k] = v
	}
	return &ng
}

// dqAffine is one fold: layer's output y feeds op alone; y·factor + offset replaces it.
type dqAffine struct {
	layer, dq, op  *Node
	scale          []float64 // the weight's per-channel scale before the fold
	zp             *Tensor   // nil: no zero point input
	factor, offset []float64
	bias           []float64 // nil: no bias input
}

func findDQAffine(g *Graph) *dqAffine {
	cons, prods := g.Consumers(), g.Producers()
	for _, n := range g.Nodes {
		if f := dqAffineAt(g, n, cons, prods); f != nil {
			return f
		}
	}
	return nil
}

func dqAffineAt(g *Graph, n *Node, cons map[string][]*Node, prods map[string]*Node) *dqAffine {
	if n.Domain != "" || len(n.Outputs) != 1 || (n.OpType != "Conv" && n.OpType != "Gemm") {
		return nil
	}
	dq := prods[n.Input(1)]
	if dq == nil || dq.OpType != "DequantizeLinear" || dq.Domain != "" {
		return nil
	}
	wq, s := g.Initializers[dq.Input(0)], g.Initializers[dq.Input(1)]
	if wq == nil || s == nil || (wq.DType != Int8 && wq.DType != Uint8) || s.DType != Float32 || len(wq.Shape) < 2 {
		return nil
	}
	// the weight's output-channel axis, and the output's channel axis
	wAxis, yAxis, yRank := 0, 1, len(wq.Shape)
	if n.OpType == "Gemm" {
		if n.AttrInt("transA", 0) != 0 || n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 || len(wq.Shape) != 2 {
			return nil
		}
		if n.AttrInt("transB", 0) == 0 {
			wAxis = 1
		}
		yRank = 2
	}
	c := wq.Shape[wAxis]
	scale, err := s.AsFloat64()
	if err != nil || (len(scale) != 1 && len(scale) != c) {
		return nil
	}
	if len(scale) > 1 {
		if a, err := NormalizeAxis(dq.AttrInt("axis", 1), len(wq.Shape)); err != nil || a != wAxis || len(s.Shape) != 1 {
			return nil
		}
	}
	var zp *Tensor
	if name := dq.Input(2); name != "" {
		if zp = g.Initializers[name]; zp == nil || zp.DType != wq.DType || zp.Len() != len(scale) {
			return nil
		}
	}
	var bias []float64
	if name := n.Input(2); name != "" {
		b := g.Initializers[name]
		if b == nil || b.DType != Float32 || b.Len() != c {
			return nil
		}
		bias, _ = b.AsFloat64()
	}
	y := n.Outputs[0]
	if g.IsGraphOutput(y) || len(cons[y]) != 1 {
		return nil
	}
	op := cons[y][0]
	factor, offset := affineOf(g, op, y, c, yRank, yAxis)
	if factor == nil {
		return nil
	}
	for _, a := range factor {
		if !(a > 0) || math.IsInf(a, 0) {
			return nil
		}
	}
	return &dqAffine{layer: n, dq: dq, op: op, scale: scale, zp: zp, factor: factor, offset: offset, bias: bias}
}

// affineOf returns the per-channel factor and offset op applies to y (rank r, c
// channels on axis ax), or nil when op is not such a map of constants.
func affineOf(g *Graph, op *Node, y string, c, r, ax int) (factor, offset []float64) {
	if op.Domain != "" || len(op.Outputs) != 1 {
		if op.OpType != "BatchNormalization" || op.Domain != "" {
			return nil, nil
		}
	}
	ones := func(v float64) []float64 {
		out := make([]float64, c)
		for i := range out {
			out[i] = v
		}
		return out
	}
	switch op.OpType {
	case "Mul", "Div", "Add", "Sub":
		if len(op.Inputs) != 2 {
			return nil, nil
		}
		other := op.Input(1)
		if op.Input(1) == y {
			if op.OpType == "Div" || op.OpType == "Sub" || op.Input(0) == y {
				return nil, nil
			}
			other = op.Input(0)
		} else if op.Input(0) != y {
			return nil, nil
		}
		v := channelConst(g.Initializers[other], c, r, ax)
		if v == nil {
			return nil, nil
		}
		switch op.OpType {
		case "Mul":
			return v, ones(0)
		case "Div":
			for i := range v {
				v[i] = 1 / v[i]
			}
			return v, ones(0)
		case "Add":
			return ones(1), v
		default: // Sub
			for i := range v {
				v[i] = -v[i]
			}
			return ones(1), v
		}
	case "BatchNormalization":
		if op.Input(0) != y || op.AttrInt("training_mode", 0) != 0 {
			return nil, nil
		}
		for _, o := range op.Outputs[1:] {
			if o != "" {
				return nil, nil
			}
		}
		factor, offset, ok := BatchNormAffine(g, op)
		if !ok || len(factor) != c {
			return nil, nil
		}
		return factor, offset
	}
	return nil, nil
}

// channelConst returns the values of a float32 constant that, broadcast against a
// rank-r tensor with c channels on axis ax, varies along that axis only (one value per
// channel), or nil.
func channelConst(t *Tensor, c, r, ax int) []float64 {
	if t == nil || t.DType != Float32 || len(t.Shape) > r {
		return nil
	}
	v, err := t.AsFloat64()
	if err != nil {
		return nil
	}
	lead := r - len(t.Shape)
	for i, d := range t.Shape {
		if d != 1 && (i+lead != ax || d != c) {
			return nil
		}
	}
	if len(v) == c {
		return v
	}
	if len(v) != 1 {
		return nil
	}
	out := make([]float64, c)
	for i := range out {
		out[i] = v[0]
	}
	return out
}

// apply rewrites ng: the layer, with a new weight DequantizeLinear (scale·factor) and
// bias (bias·factor + offset), writes op's output; op is removed.
func (f *dqAffine) apply(ng *Graph) {
	c := len(f.factor)
	scale := make([]float32, c)
	bias := make([]float32, c)
	for i := range scale {
		s := f.scale[0]
		if len(f.scale) > 1 {
			s = f.scale[i]
		}
		scale[i] = float32(s * f.factor[i])
		b := 0.0
		if f.bias != nil {
			b = f.bias[i]
		}
		bias[i] = float32(b*f.factor[i] + f.offset[i])
	}
	base := f.layer.Outputs[0]
	dq := f.dq.Clone()
	dq.Name = ng.UniqueName(f.dq.Name + "_folded")
	dq.Outputs = []string{ng.UniqueName(f.dq.Outputs[0] + "_folded")}
	dq.Inputs = append([]string(nil), f.dq.Inputs...)
	dq.Inputs[1] = ng.UniqueName(base + "_weight_scale")
	ng.Initializers[dq.Inputs[1]] = FromFloat32([]int{c}, scale)
	wAxis := 0
	if f.layer.OpType == "Gemm" && f.layer.AttrInt("transB", 0) == 0 {
		wAxis = 1
	}
	dq.SetAttrInt("axis", int64(wAxis))
	if f.zp != nil && f.zp.Len() != c {
		z := NewTensor(f.zp.DType, []int{c})
		for i := 0; i < c; i++ {
			if f.zp.DType == Int8 {
				z.I8()[i] = f.zp.I8()[0]
			} else {
				z.U8()[i] = f.zp.U8()[0]
			}
		}
		dq.Inputs[2] = ng.UniqueName(base + "_weight_zero_point")
		ng.Initializers[dq.Inputs[2]] = z
	}
	ng.Values[dq.Outputs[0]] = &Value{Name: dq.Outputs[0], DType: Float32, Shape: ShapeOf(ng.Initializers[f.dq.Input(0)].Shape...), HasShape: true}
	layer := f.layer.Clone()
	layer.Inputs = append([]string(nil), f.layer.Inputs...)
	layer.Inputs[1] = dq.Outputs[0]
	for len(layer.Inputs) < 3 {
		layer.Inputs = append(layer.Inputs, "")
	}
	layer.Inputs[2] = ng.UniqueName(base + "_folded_bias")
	ng.Initializers[layer.Inputs[2]] = FromFloat32([]int{c}, bias)
	layer.Outputs = []string{f.op.Outputs[0]}
	delete(ng.Values, base)

	nodes := make([]*Node, 0, len(ng.Nodes))
	for _, n := range ng.Nodes {
		switch n {
		case f.op:
		case f.layer:
			nodes = append(nodes, dq, layer)
		default:
			nodes = append(nodes, n)
		}
	}
	ng.Nodes = nodes
	// the old DequantizeLinear, scale and bias, when nothing reads them any more
	used := map[string]bool{}
	for _, n := range ng.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, o := range ng.Outputs {
		used[o.Name] = true
	}
	if !used[f.dq.Outputs[0]] {
		kept := ng.Nodes[:0]
		for _, n := range ng.Nodes {
			if n != f.dq {
				kept = append(kept, n)
			}
		}
		ng.Nodes = kept
		delete(ng.Values, f.dq.Outputs[0])
		used = map[string]bool{}
		for _, n := range ng.Nodes {
			for _, in := range n.Inputs {
				used[in] = true
			}
		}
	}
	for _, name := range append(append(append([]string(nil), f.dq.Inputs...), f.layer.Input(2)), f.op.Inputs...) {
		if name != "" && !used[name] && ng.Initializers[name] != nil {
			delete(ng.Initializers, name)
			delete(ng.Values, name)
		}
	}
}
