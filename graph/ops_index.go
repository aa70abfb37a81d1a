package graph

// Shape schemas of ArgMax/ArgMin, TopK, Hardmax and CumSum.

func inferArgMinMax(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, numericTypes); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return finish(c, &Value{DType: Int64})
	}
	axis, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(in.Shape))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	out := Shape{}
	for i, d := range in.Shape {
		if i == axis {
			if c.Node.AttrInt("keepdims", 1) != 0 {
				out = append(out, Dim{Size: 1})
			}
			continue
		}
		out = append(out, d)
	}
	return finish(c, &Value{DType: Int64, Shape: out, HasShape: true})
}

func inferTopK(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := noLegacyAttrs(c, 10, "k"); err != nil {
		return nil, nil, err
	}
	if c.Opset < 10 {
		if err := requireInputs(c, 1, 1); err != nil {
			return nil, nil, err
		}
	} else if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := requireOutputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, numericTypes); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return finish(c, &Value{DType: in.DType}, &Value{DType: Int64})
	}
	axis, err := NormalizeAxis(c.Node.AttrInt("axis", -1), len(in.Shape))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	k := Dim{Size: -1}
	if c.Opset < 10 {
		k = Dim{Size: int(c.Node.AttrInt("k", -1))}
	} else if v, err := constInts(c, 1); err != nil {
		return nil, nil, err
	} else if v != nil {
		if len(v) != 1 {
			return nil, nil, c.Errorf("K must have one element, has %d", len(v))
		}
		k = Dim{Size: int(v[0])}
	}
	if k.Known() && in.Shape[axis].Known() && (k.Size < 0 || k.Size > in.Shape[axis].Size) {
		return nil, nil, c.Errorf("K = %d is out of range for axis %d of shape %s", k.Size, axis, in.Shape)
	}
	if k.Size < 0 {
		k = Dim{Size: -1}
	}
	out := append(Shape{}, in.Shape...)
	out[axis] = k
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true}, &Value{DType: Int64, Shape: append(Shape{}, out...), HasShape: true})
}

// sameAsInput is the inference of operators whose output has input 0's type and
// shape (CumSum, Scatter*, Hardmax), after checking input counts and input 0's type.
func sameAsInput(minIn, maxIn int, types typeSet) InferFunc {
	return func(c *InferContext) ([]*Value, []*Tensor, error) {
		if err := requireInputs(c, minIn, maxIn); err != nil {
			return nil, nil, err
		}
		if err := checkInputType(c, 0, types); err != nil {
			return nil, nil, err
		}
		in := c.Input(0)
		return finish(c, valueOf(in.DType, in.Shape, in.HasShape))
	}
}

func inferCumSum(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := checkInputType(c, 1, typeSet{Int32, Int64}); err != nil {
		return nil, nil, err
	}
	if v := c.Input(1); v != nil && v.HasShape && len(v.Shape) > 1 {
		return nil, nil, c.Errorf("axis must be a scalar, has shape %s", v.Shape)
	}
	return sameAsInput(2, 2, typeSet{Float32, Float64, Float16, BFloat16, Int32, Int64, Uint32, Uint64})(c)
}

func init() {
	RegisterOp(OpSchema{OpType: "ArgMax", SinceOpset: 1, Attrs: []string{"axis", "keepdims", "select_last_index"}, Infer: inferArgMinMax})
	RegisterOp(OpSchema{OpType: "ArgMin", SinceOpset: 1, Attrs: []string{"axis", "keepdims", "select_last_index"}, Infer: inferArgMinMax})
	RegisterOp(OpSchema{OpType: "TopK", SinceOpset: 1, Attrs: []string{"axis", "k", "largest", "sorted"}, Infer: inferTopK})
	RegisterOp(OpSchema{OpType: "CumSum", SinceOpset: 11, Attrs: []string{"exclusive", "reverse"}, Infer: inferCumSum})
	RegisterOp(OpSchema{OpType: "Hardmax", SinceOpset: 1, Attrs: []string{"axis"}, Infer: sameAsInput(1, 1, floatTypes)})
}
