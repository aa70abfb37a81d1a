package graph

// BatchShapes returns input shapes with every unknown dimension bound to batch (the
// usual case: a symbolic batch dimension N). Inputs with fully known shapes are
// returned as they are.
func BatchShapes(g *Graph, batch int) map[string][]int {
	out := map[string][]int{}
	for _, in := range g.Inputs {
		if !in.HasShape {
			continue
		}
		s := make([]int, len(in.Shape))
		for i, d := range in.Shape {
			if d.Known() {
				s[i] = d.Size
			} else {
				s[i] = batch
			}
		}
		out[in.Name] = s
	}
	return out
}

func (g *Graph) concreteShape(name string) ([]int, bool) {
	v := g.Values[name]
	if v == nil || !v.HasShape {
		if t := g.Initializers[name]; t != nil {
			return t.Shape, true
		}
		return nil, false
	}
	return v.Shape.Concrete()
}

// MACs returns the multiply-accumulate count of a node (convolutions and matrix
// products; 0 for other operators), using the shapes in g.Values. It returns 0 when
// shapes are unknown.
func (g *Graph) MACs(n *Node) int64 {
	switch n.OpType {
	case "Conv", "ConvInteger", "QLinearConv", "ConvTranspose":
		wIdx := 1
		if n.OpType == "QLinearConv" {
			wIdx = 3
		}
		w, ok := g.concreteShape(n.Input(wIdx))
		if !ok || len(w) < 3 {
			return 0
		}
		if n.OpType == "ConvTranspose" {
			// Every input element is multiplied by a C_out/group x kernel slab.
			x, ok := g.concreteShape(n.Input(0))
			if !ok {
				return 0
			}
			k := int64(1)
			for _, d := range w[1:] {
				k *= int64(d)
			}
			return int64(NumElements(x)) * k
		}
		y, ok := g.concreteShape(n.Outputs[0])
		if !ok {
			return 0
		}
		k := int64(1)
		for _, d := range w[1:] {
			k *= int64(d)
		}
		return int64(NumElements(y)) * k
	case "Gemm", "MatMul", "MatMulInteger", "QLinearMatMul":
		aIdx, bIdx := 0, 1
		if n.OpType == "QLinearMatMul" {
			aIdx, bIdx = 0, 3
		}
		a, ok1 := g.concreteShape(n.Input(aIdx))
		y, ok2 := g.concreteShape(n.Outputs[0])
		if !ok1 || !ok2 || len(a) == 0 {
			return 0
		}
		k := a[len(a)-1]
		if n.OpType == "Gemm" && n.AttrInt("transA", 0) != 0 {
			k = a[0]
		}
		_ = bIdx
		return int64(NumElements(y)) * int64(k)
	}
	return 0
}

// ParamCount returns the number of elements in all initializers.
func (g *Graph) ParamCount() int64 {
	var n int64
	for _, t := range g.Initializers {
		n += int64(t.Len())
	}
	return n
}
