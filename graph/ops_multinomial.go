package graph

// The shape schema of Multinomial: input [batch, classes] of float32 or float64
// unnormalised log-probabilities, output [batch, sample_size] class indices of
// the dtype attribute (int32, the default, or int64). torch.onnx writes it for
// torch.multinomial (the sampling step of a decoder: top-k / top-p logits
// processors, then a draw). Never folded into a constant (graph/optimize and
// the int8 session's step folding list it with the random generators).
// Twenty-second session, the unseen17 set.

// MultinomialDType is the output type of a Multinomial node: its dtype
// attribute (int32 when absent); other types are refused naming the node.
func MultinomialDType(n *Node) (DType, error) {
	dt := Int32
	if a := n.Attrs["dtype"]; a != nil {
		dt = DType(a.I)
	}
	if dt != Int32 && dt != Int64 {
		return Undefined, errorf(n, "output type %s is not supported (int32 and int64)", dt)
	}
	return dt, nil
}

// MultinomialSamples is the sample_size attribute (1 when absent); it must be
// positive.
func MultinomialSamples(n *Node) (int, error) {
	s := n.AttrInt("sample_size", 1)
	if s < 1 {
		return 0, errorf(n, "sample_size %d is not positive", s)
	}
	return int(s), nil
}

func inferMultinomial(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	if x.DType != Float32 && x.DType != Float64 && x.DType != Undefined {
		return nil, nil, c.Errorf("input type %s is not supported (float32 and float64 log-probabilities)", x.DType)
	}
	dt, err := MultinomialDType(c.Node)
	if err != nil {
		return nil, nil, err
	}
	samples, err := MultinomialSamples(c.Node)
	if err != nil {
		return nil, nil, err
	}
	if !x.HasShape {
		return []*Value{{DType: dt}}, nil, nil
	}
	if len(x.Shape) != 2 {
		return nil, nil, c.Errorf("input has rank %d, the operator takes [batch, classes]", len(x.Shape))
	}
	// Not finish: a draw is never a constant.
	return []*Value{{DType: dt, Shape: Shape{x.Shape[0], {Size: samples}}, HasShape: true}}, nil, nil
}

func init() {
	RegisterOp(OpSchema{OpType: "Multinomial", SinceOpset: 7, Attrs: []string{"dtype", "sample_size", "seed"},
		Infer: inferMultinomial})
}
