package graph

// Shape schemas of Gather, GatherElements, GatherND, ScatterND, ScatterElements,
// Scatter and NonZero.

import "fmt"

func inferGather(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, typeSet{Int32, Int64}); err != nil {
		return nil, nil, err
	}
	data, idx := c.Input(0), c.Input(1)
	if !data.HasShape || !idx.HasShape {
		return finish(c, &Value{DType: data.DType})
	}
	axis, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(data.Shape))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	out := append(Shape{}, data.Shape[:axis]...)
	out = append(out, idx.Shape...)
	out = append(out, data.Shape[axis+1:]...)
	return finish(c, &Value{DType: data.DType, Shape: out, HasShape: true})
}

func inferGatherElements(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, typeSet{Int32, Int64}); err != nil {
		return nil, nil, err
	}
	data, idx := c.Input(0), c.Input(1)
	if data.HasShape && idx.HasShape {
		if len(data.Shape) != len(idx.Shape) {
			return nil, nil, c.Errorf("data has rank %d, indices rank %d; they must match", len(data.Shape), len(idx.Shape))
		}
		if _, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(data.Shape)); err != nil {
			return nil, nil, c.Errorf("%v", err)
		}
	}
	return finish(c, valueOf(data.DType, idx.Shape, idx.HasShape))
}

func inferGatherND(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, typeSet{Int64}); err != nil {
		return nil, nil, err
	}
	data, idx := c.Input(0), c.Input(1)
	b := int(c.Node.AttrInt("batch_dims", 0))
	if !data.HasShape || !idx.HasShape || len(idx.Shape) == 0 || !idx.Shape[len(idx.Shape)-1].Known() {
		return finish(c, &Value{DType: data.DType})
	}
	k := idx.Shape[len(idx.Shape)-1].Size
	if b < 0 || b >= len(idx.Shape) || b+k > len(data.Shape) {
		return nil, nil, c.Errorf("indices of shape %s with batch_dims %d do not fit data of shape %s", idx.Shape, b, data.Shape)
	}
	out := append(Shape{}, idx.Shape[:len(idx.Shape)-1]...)
	out = append(out, data.Shape[b+k:]...)
	return finish(c, &Value{DType: data.DType, Shape: out, HasShape: true})
}

// CheckScatterReduction checks a ScatterND/ScatterElements reduction: "none",
// "add" and "mul" (opset 16), "max" and "min" (opset 18).
func CheckScatterReduction(r string, opset int64) error {
	switch r {
	case "none", "add", "mul":
		return nil
	case "max", "min":
		if opset >= 18 || opset == 0 {
			return nil
		}
		return fmt.Errorf("reduction %q is defined from opset 18 on, the model has opset %d", r, opset)
	}
	return fmt.Errorf("%w reduction %q", ErrUnsupported, r)
}

func inferScatter(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := CheckScatterReduction(c.Node.AttrString("reduction", "none"), c.Opset); err != nil {
		return nil, nil, errorf(c.Node, "%w", err)
	}
	if err := checkInputType(c, 1, typeSet{Int32, Int64}); err != nil {
		return nil, nil, err
	}
	if _, err := sameInputTypes(c, 0, 2); err != nil {
		return nil, nil, err
	}
	data, idx := c.Input(0), c.Input(1)
	if data != nil && idx != nil && data.HasShape && idx.HasShape && c.Node.OpType != "ScatterND" && len(data.Shape) != len(idx.Shape) {
		return nil, nil, c.Errorf("data has rank %d, indices rank %d; they must match", len(data.Shape), len(idx.Shape))
	}
	return sameAsInput(3, 3, anyTypes)(c)
}

func inferNonZero(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return finish(c, &Value{DType: Int64, Shape: unknownDims(2), HasShape: true})
	}
	return finish(c, &Value{DType: Int64, Shape: Shape{{Size: len(in.Shape)}, {Size: -1}}, HasShape: true})
}

func init() {
	RegisterOp(OpSchema{OpType: "Gather", SinceOpset: 1, Attrs: []string{"axis"}, Infer: inferGather})
	RegisterOp(OpSchema{OpType: "GatherElements", SinceOpset: 11, Attrs: []string{"axis"}, Infer: inferGatherElements})
	RegisterOp(OpSchema{OpType: "NonZero", SinceOpset: 9, Attrs: []string{}, Infer: inferNonZero})
	RegisterOp(OpSchema{OpType: "GatherND", SinceOpset: 11, Attrs: []string{"batch_dims"}, Infer: inferGatherND})
	RegisterOp(OpSchema{OpType: "ScatterND", SinceOpset: 11, Attrs: []string{"reduction"}, Infer: inferScatter})
	RegisterOp(OpSchema{OpType: "ScatterElements", SinceOpset: 11, Attrs: []string{"axis", "reduction"}, Infer: inferScatter})
	RegisterOp(OpSchema{OpType: "Scatter", SinceOpset: 9, MaxOpset: 10, Attrs: []string{"axis"}, Infer: inferScatter})
}
