package graph

// Shape schemas of the QOperator operators (QLinearConv, QLinearMatMul, ConvInteger,
// MatMulInteger and the com.microsoft QLinear* contrib operators). They live here, with
// the other standard schemas, so that InferShapes gives the same answer whichever
// packages are linked.

import "fmt"

// InputShape returns the shape of input i, nil when it is not known, or an error when
// the input is missing.
func (c *InferContext) InputShape(i int) (Shape, error) {
	v := c.Input(i)
	if v == nil {
		return nil, c.Errorf("input %d is missing", i)
	}
	if !v.HasShape {
		return nil, nil
	}
	return v.Shape, nil
}

// OneOutput is the result of an InferFunc with one output of type dt and shape s
// (known tells whether s is meaningful).
func OneOutput(dt DType, s Shape, known bool) ([]*Value, []*Tensor, error) {
	return []*Value{{DType: dt, Shape: s, HasShape: known}}, nil, nil
}

// InferPassThrough infers an output of input 0's shape and type dt (input 0's type
// when dt is Undefined).
func InferPassThrough(dt DType) InferFunc {
	return func(c *InferContext) ([]*Value, []*Tensor, error) {
		s, err := c.InputShape(0)
		if err != nil {
			return nil, nil, err
		}
		out := dt
		if out == Undefined {
			out = c.Input(0).DType
		}
		return OneOutput(out, s, s != nil || c.Input(0).HasShape)
	}
}

// inferVia runs the schema of a float operator on some inputs and changes the dtype.
func inferVia(op string, inputs []int, dtype func(c *InferContext) DType) InferFunc {
	return func(c *InferContext) ([]*Value, []*Tensor, error) {
		s := LookupOp("", op)
		if s == nil || s.Infer == nil {
			return nil, nil, fmt.Errorf("%s: no shape inference for %s", c.Node.Label(), op)
		}
		node := c.Node.Clone()
		node.Inputs = nil
		for _, i := range inputs {
			node.Inputs = append(node.Inputs, c.Node.Input(i))
		}
		sub := &InferContext{Node: node, Opset: c.Opset, Eval: c.Eval}
		for _, i := range inputs {
			v := c.Input(i)
			if v != nil {
				cp := *v
				cp.DType = Float32
				v = &cp
			}
			sub.Inputs = append(sub.Inputs, v)
			sub.Consts = append(sub.Consts, nil)
		}
		outs, _, err := s.Infer(sub)
		if err != nil {
			return nil, nil, err
		}
		if len(outs) == 0 || outs[0] == nil {
			return OneOutput(dtype(c), nil, false)
		}
		o := *outs[0]
		o.DType = dtype(c)
		return []*Value{&o}, nil, nil
	}
}

func dtypeOfInput(i, fallback int) func(c *InferContext) DType {
	return func(c *InferContext) DType {
		if v := c.Input(i); v != nil && v.DType != Undefined {
			return v.DType
		}
		if v := c.Input(fallback); v != nil {
			return v.DType
		}
		return Uint8
	}
}

func int32Type(*InferContext) DType { return Int32 }

func inferQLinearGAP(c *InferContext) ([]*Value, []*Tensor, error) {
	x, err := c.InputShape(0)
	if err != nil {
		return nil, nil, err
	}
	dt := dtypeOfInput(4, 0)(c)
	if x == nil {
		return OneOutput(dt, nil, false)
	}
	if len(x) < 3 {
		return nil, nil, c.Errorf("input must have spatial dimensions, got %s", x)
	}
	out := make(Shape, len(x))
	for i := range out {
		out[i] = Dim{Size: 1}
	}
	out[0] = x[0]
	if c.Node.AttrInt("channels_last", 0) != 0 {
		out[len(x)-1] = x[len(x)-1]
	} else {
		out[1] = x[1]
	}
	return OneOutput(dt, out, true)
}

func init() {
	convAttrs := []string{"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}
	RegisterOp(OpSchema{OpType: "QLinearConv", SinceOpset: 10, Attrs: convAttrs, Infer: inferVia("Conv", []int{0, 3}, dtypeOfInput(7, 0))})
	RegisterOp(OpSchema{OpType: "ConvInteger", SinceOpset: 10, Attrs: convAttrs, Infer: inferVia("Conv", []int{0, 1}, int32Type)})
	RegisterOp(OpSchema{OpType: "QLinearMatMul", SinceOpset: 10, Attrs: []string{}, Infer: inferVia("MatMul", []int{0, 3}, dtypeOfInput(7, 0))})
	RegisterOp(OpSchema{OpType: "MatMulInteger", SinceOpset: 10, Attrs: []string{}, Infer: inferVia("MatMul", []int{0, 1}, int32Type)})
	ms := "com.microsoft"
	RegisterOp(OpSchema{OpType: "QLinearAdd", Domain: ms, SinceOpset: 1, Attrs: []string{}, Infer: inferVia("Add", []int{0, 3}, dtypeOfInput(7, 0))})
	RegisterOp(OpSchema{OpType: "QLinearMul", Domain: ms, SinceOpset: 1, Attrs: []string{}, Infer: inferVia("Mul", []int{0, 3}, dtypeOfInput(7, 0))})
	RegisterOp(OpSchema{OpType: "QLinearGlobalAveragePool", Domain: ms, SinceOpset: 1, Attrs: []string{"channels_last"}, Infer: inferQLinearGAP})
	RegisterOp(OpSchema{OpType: "QLinearSigmoid", Domain: ms, SinceOpset: 1, Attrs: []string{}, Infer: InferPassThrough(Undefined)})
	RegisterOp(OpSchema{OpType: "QLinearLeakyRelu", Domain: ms, SinceOpset: 1, Attrs: []string{"alpha"}, Infer: InferPassThrough(Undefined)})

}
