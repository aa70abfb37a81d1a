package graph

// This file holds the shape-inference schemas of the ONNX quantization operators in
// their float form: QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear. The
// float executor runs them literally (simulated quantization); the int8 executor lowers
// them separately.

// quantParamShape checks a scale or zero-point operand: a scalar (or one-element 1-D
// tensor) for per-tensor quantization, or a 1-D tensor of the quantized axis's size for
// per-axis quantization (opset 13+).
func quantParamShape(c *InferContext, i int, x *Value) error {
	v := c.Input(i)
	if v == nil || !v.HasShape {
		return nil
	}
	switch len(v.Shape) {
	case 0:
		return nil
	case 1:
		if v.Shape[0].Known() && v.Shape[0].Size == 1 {
			return nil
		}
		if c.Opset < 13 {
			return c.Errorf("input %d (%q) must be a scalar before opset 13 (per-axis quantization needs opset 13), has shape %s", i, c.Node.Input(i), v.Shape)
		}
		if !x.HasShape {
			return nil
		}
		axis, err := NormalizeAxis(c.Node.AttrInt("axis", 1), len(x.Shape))
		if err != nil {
			return c.Errorf("%v", err)
		}
		if v.Shape[0].Known() && x.Shape[axis].Known() && v.Shape[0].Size != x.Shape[axis].Size {
			return c.Errorf("input %d (%q) has %d entries, axis %d of the input has size %d", i, c.Node.Input(i), v.Shape[0].Size, axis, x.Shape[axis].Size)
		}
		return nil
	}
	return c.Errorf("input %d (%q) must be a scalar or 1-D, has shape %s", i, c.Node.Input(i), v.Shape)
}

func inferQuantizeLinear(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 3); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, typeSet{Float32, Float64, Float16, Int32}); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, floatTypes); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 2, typeSet{Int8, Uint8}); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	for i := 1; i < 3; i++ {
		if err := quantParamShape(c, i, x); err != nil {
			return nil, nil, err
		}
	}
	dt := Uint8
	if zp := c.Input(2); zp != nil && zp.DType != Undefined {
		dt = zp.DType
	}
	return finish(c, valueOf(dt, x.Shape, x.HasShape))
}

func inferDequantizeLinear(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 3); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, typeSet{Int8, Uint8, Int32}); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, floatTypes); err != nil {
		return nil, nil, err
	}
	if _, err := sameInputTypes(c, 0, 2); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	for i := 1; i < 3; i++ {
		if err := quantParamShape(c, i, x); err != nil {
			return nil, nil, err
		}
	}
	dt := Float32
	if s := c.Input(1); s.DType != Undefined {
		dt = s.DType
	}
	return finish(c, valueOf(dt, x.Shape, x.HasShape))
}

func inferDynamicQuantizeLinear(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := requireOutputs(c, 3, 3); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, typeSet{Float32}); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	return finish(c,
		valueOf(Uint8, x.Shape, x.HasShape),
		&Value{DType: Float32, Shape: Shape{}, HasShape: true},
		&Value{DType: Uint8, Shape: Shape{}, HasShape: true})
}

func init() {
	RegisterOp(OpSchema{OpType: "QuantizeLinear", SinceOpset: 10, Attrs: []string{"axis"}, Infer: inferQuantizeLinear})
	RegisterOp(OpSchema{OpType: "DequantizeLinear", SinceOpset: 10, Attrs: []string{"axis"}, Infer: inferDequantizeLinear})
	RegisterOp(OpSchema{OpType: "DynamicQuantizeLinear", SinceOpset: 11, Attrs: []string{}, Infer: inferDynamicQuantizeLinear})
}
