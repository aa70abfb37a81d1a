package graph

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

// MACs returns the multiply-accumulate count of a node (convolutions, matrix
// products, LSTM/GRU/RNN; 0 for other operators), using the shapes in g.Values. It
// returns 0 when shapes are unknown (MACsKnown tells the two apart).
func (g *Graph) MACs(n *Node) int64 {
	m, _ := g.MACsKnown(n)
	return m
}

// MACsKnown is MACs, with known false when the node multiplies but a shape it needs
// is not concrete (a symbolic height, width or sequence length).
func (g *Graph) MACsKnown(n *Node) (macs int64, known bool) {
	m := g.macs(n)
	if m >= 0 {
		return m, true
	}
	return 0, false
}

// macs is the MAC count, or -1 when a needed shape is unknown.
func (g *Graph) macs(n *Node) int64 {
	switch n.OpType {
	case "LSTM", "GRU", "RNN":
		return g.rnnMACs(n)
	case DynamicLSTMOp:
		return g.dynamicLSTMMACs(n)
	case "Einsum":
		return g.einsumMACs(n)
	case "Conv", "ConvInteger", "QLinearConv", "ConvTranspose":
		wIdx := 1
		if n.OpType == "QLinearConv" {
			wIdx = 3
		}
		w, ok := g.concreteShape(n.Input(wIdx))
		if !ok || len(w) < 3 {
			return -1
		}
		if n.OpType == "ConvTranspose" {
			// Every input element is multiplied by a C_out/group x kernel slab.
			x, ok := g.concreteShape(n.Input(0))
			if !ok {
				return -1
			}
			k := int64(1)
			for _, d := range w[1:] {
				k *= int64(d)
			}
			return int64(NumElements(x)) * k
		}
		y, ok := g.concreteShape(n.Outputs[0])
		if !ok {
			return -1
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
			return -1
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

// rnnMACs counts an ONNX LSTM, GRU or RNN: every time step multiplies the input by W
// and the previous hidden state by R for every gate of every direction:
// seq*batch*dirs*gates*hidden*(input+hidden), with 4 gates (LSTM), 3 (GRU) or 1 (RNN).
// The first two dimensions of X are sequence and batch in either layout.
func (g *Graph) rnnMACs(n *Node) int64 {
	x, ok1 := g.concreteShape(n.Input(0))
	w, ok2 := g.concreteShape(n.Input(1))
	r, ok3 := g.concreteShape(n.Input(2))
	if !ok1 || !ok2 || !ok3 || len(x) != 3 || len(w) != 3 || len(r) != 3 {
		return -1
	}
	// W is [dirs, gates*hidden, input], R is [dirs, gates*hidden, hidden].
	return int64(x[0]) * int64(x[1]) * int64(w[0]) * int64(w[1]) * int64(w[2]+r[2])
}

// ParamCount returns the number of weight elements: every initializer and every
// Constant node's tensor (exporters store weights either way).
func (g *Graph) ParamCount() int64 {
	var n int64
	for _, t := range g.Initializers {
		n += int64(t.Len())
	}
	for _, nd := range g.Nodes {
		if nd.OpType != "Constant" || nd.Domain != "" && nd.Domain != "ai.onnx" {
			continue
		}
		if t := nd.AttrTensor("value"); t != nil {
			n += int64(t.Len())
		} else if v := nd.AttrFloats("value_floats", nil); v != nil {
			n += int64(len(v))
		} else if v := nd.AttrInts("value_ints", nil); v != nil {
			n += int64(len(v))
		} else if nd.HasAttr("value_float") || nd.HasAttr("value_int") {
			n++
		}
	}
	return n
}
