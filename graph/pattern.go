package graph

// Patterns that exporters write out as chains of primitive operators and that both the
// quantizer (which must not put Q/DQ pairs inside them) and the int8 lowering (which
// runs them as one int8 operator) recognise. One matcher, so both agree on the shape of
// the pattern.

// PatternContext is what a matcher needs to know about the graph.
type PatternContext struct {
	Prod map[string]*Node
	Cons map[string][]*Node
	// Const returns the constant value of a tensor (an initializer, or a constant the
	// caller can see through, such as a dequantized initializer), or nil.
	Const func(name string) *Tensor
	// IsOutput reports whether a value is a graph output.
	IsOutput func(name string) bool
	// Rank returns the rank of a value, or -1 when unknown.
	Rank func(name string) int
	// Opset is the default-domain opset of the model.
	Opset int64
}

// LayerNormPattern is a layer normalization over the last axis written out as
//
//	m = ReduceMean(x); d = x - m; v = ReduceMean(d^2) (Pow(d, 2) or Mul(d, d));
//	y = d / Sqrt(v + eps); [y = y * scale]; [y = y + bias]
//
// as torch.onnx and paddle2onnx emit it before opset 17.
type LayerNormPattern struct {
	Input, Output string
	// Nodes are the operators of the pattern (the caller replaces all of them).
	Nodes   []*Node
	Epsilon float32
	// Scale and Bias name the constant affine parameters ("" when absent).
	Scale, Bias string
}

func (c *PatternContext) single(name string) *Node {
	if c.IsOutput(name) || len(c.Cons[name]) != 1 {
		return nil
	}
	return c.Cons[name][0]
}

func (c *PatternContext) scalarConst(name string) (float32, bool) {
	t := c.Const(name)
	if t == nil || t.Len() != 1 || t.F32() == nil {
		return 0, false
	}
	return t.F32()[0], true
}

// other returns the input of a binary node that is not name, or "" if name is not one
// of its two inputs.
func other(n *Node, name string) string {
	if len(n.Inputs) != 2 {
		return ""
	}
	switch name {
	case n.Inputs[0]:
		return n.Inputs[1]
	case n.Inputs[1]:
		return n.Inputs[0]
	}
	return ""
}

// lastAxisMean reports whether n is a ReduceMean over the last axis of a rank-r input
// that keeps the reduced dimension.
func (c *PatternContext) lastAxisMean(n *Node) bool {
	if n == nil || n.OpType != "ReduceMean" || n.Domain != "" || n.AttrInt("keepdims", 1) != 1 {
		return false
	}
	axes := n.AttrIntList("axes")
	if c.Opset >= 18 {
		t := c.Const(n.Input(1))
		if t == nil {
			return false
		}
		axes = nil
		for _, v := range t.I64() {
			axes = append(axes, int(v))
		}
	}
	if len(axes) != 1 {
		return false
	}
	if axes[0] == -1 {
		return true
	}
	r := c.Rank(n.Input(0))
	return r > 0 && axes[0] == r-1
}

// MatchLayerNorm matches the written-out layer normalization whose first ReduceMean is
// rm. It returns nil when rm does not start one.
func MatchLayerNorm(c *PatternContext, rm *Node) *LayerNormPattern {
	if !c.lastAxisMean(rm) {
		return nil
	}
	x, mean := rm.Input(0), rm.Outputs[0]
	sub := c.single(mean)
	if sub == nil || sub.OpType != "Sub" || sub.Input(0) != x || sub.Input(1) != mean {
		return nil
	}
	d := sub.Outputs[0]
	var users []*Node // Consumers lists Mul(d, d) twice
	for _, n := range c.Cons[d] {
		if len(users) == 0 || users[len(users)-1] != n {
			users = append(users, n)
		}
	}
	if c.IsOutput(d) || len(users) != 2 {
		return nil
	}
	var sq, div *Node
	for _, n := range users {
		switch {
		case n.OpType == "Div" && n.Input(0) == d:
			div = n
		case n.OpType == "Mul" && n.Input(0) == d && n.Input(1) == d:
			sq = n
		case n.OpType == "Pow" && n.Input(0) == d:
			if e, ok := c.scalarConst(n.Input(1)); ok && e == 2 {
				sq = n
			}
		}
	}
	if sq == nil || div == nil {
		return nil
	}
	rm2 := c.single(sq.Outputs[0])
	if !c.lastAxisMean(rm2) {
		return nil
	}
	add := c.single(rm2.Outputs[0])
	if add == nil || add.OpType != "Add" {
		return nil
	}
	eps, ok := c.scalarConst(other(add, rm2.Outputs[0]))
	if !ok {
		return nil
	}
	sqrt := c.single(add.Outputs[0])
	if sqrt == nil || sqrt.OpType != "Sqrt" || c.single(sqrt.Outputs[0]) != div || div.Input(1) != sqrt.Outputs[0] {
		return nil
	}
	p := &LayerNormPattern{Input: x, Output: div.Outputs[0], Epsilon: eps, Nodes: []*Node{rm, sub, sq, rm2, add, sqrt, div}}
	// optional affine: a constant vector along the last axis.
	affine := func(op string) (*Node, string) {
		n := c.single(p.Output)
		if n == nil || n.OpType != op || n.Domain != "" {
			return nil, ""
		}
		k := other(n, p.Output)
		t := c.Const(k)
		if t == nil || t.F32() == nil || len(t.Shape) > 1 {
			return nil, ""
		}
		return n, k
	}
	if n, k := affine("Mul"); n != nil {
		p.Scale, p.Output, p.Nodes = k, n.Outputs[0], append(p.Nodes, n)
	}
	if n, k := affine("Add"); n != nil {
		p.Bias, p.Output, p.Nodes = k, n.Outputs[0], append(p.Nodes, n)
	}
	return p
}
