package graph

// SequenceMap (ONNX opset 17, a function op): the body runs once per element of
// the first input, a sequence. Each further input is either a sequence of the
// same length (the body gets its element at the same position) or a tensor (the
// body gets it whole every time). Every body output becomes a sequence with one
// element per iteration. The elements' shapes may differ, so the body is
// inferred on what the sequences' elements have in common (a dimension that
// differs is unknown), and an output's elements are what the body gives for
// that.

func init() {
	RegisterOp(OpSchema{OpType: "SequenceMap", SinceOpset: 17, Attrs: []string{"body"}, Infer: inferSequenceMap})
}

func inferSequenceMap(c *InferContext) ([]*Value, []*Tensor, error) {
	body, err := SubgraphAttr(c.Node, "body")
	if err != nil {
		return nil, nil, err
	}
	if err := requireInputs(c, 1, -1); err != nil {
		return nil, nil, err
	}
	if _, err := seqInput(c, 0); err != nil {
		return nil, nil, err
	}
	if len(body.Inputs) != len(c.Node.Inputs) {
		return nil, nil, c.Errorf("body has %d inputs, want %d (one per input of the node)", len(body.Inputs), len(c.Node.Inputs))
	}
	if len(c.Node.Outputs) > len(body.Outputs) {
		return nil, nil, c.Errorf("has %d outputs, its body %d", len(c.Node.Outputs), len(body.Outputs))
	}
	ins := make([]*Value, len(c.Node.Inputs))
	for i := range c.Node.Inputs {
		v := c.Input(i)
		if v == nil {
			return nil, nil, c.Errorf("input %d is missing", i)
		}
		if v.Seq {
			// The body sees one element: what every element has in common.
			v = &Value{DType: v.DType, Shape: v.Shape, HasShape: v.HasShape}
			if c.Input(i).SeqEmpty {
				v.Shape, v.HasShape = nil, false
			}
		}
		ins[i] = v
	}
	bo, err := inferSubgraph(c, body, ins)
	if err != nil {
		return nil, nil, err
	}
	outs := make([]*Value, len(c.Node.Outputs))
	for k := range outs {
		if bo[k].Seq {
			return nil, nil, c.Errorf("body output %d (%q) is a sequence: each becomes an element of a sequence, which holds tensors", k, body.Outputs[k].Name)
		}
		outs[k] = seqOf(bo[k])
	}
	return outs, nil, nil
}
