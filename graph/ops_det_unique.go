package graph

// Shape schemas of Det (torch.det / torch.linalg.det) and Unique (torch.unique:
// voxelisation, vocabulary look-ups; outputs of data-dependent length).

func inferDet(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, typeSet{Float32, Float64}); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	if !x.HasShape {
		return finish(c, &Value{DType: x.DType})
	}
	r := len(x.Shape)
	if r < 2 {
		return nil, nil, c.Errorf("input of shape %s: Det needs [*, M, M]", x.Shape)
	}
	if a, b := x.Shape[r-2], x.Shape[r-1]; a.Known() && b.Known() && a.Size != b.Size {
		return nil, nil, c.Errorf("input of shape %s: the last two axes must be square", x.Shape)
	}
	return finish(c, &Value{DType: x.DType, Shape: append(Shape{}, x.Shape[:r-2]...), HasShape: true})
}

func inferUnique(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	switch x.DType {
	case Float32, Float64, Int64, Int32, Int8, Uint8, Int16, Uint16, Uint32, Uint64, Bool, Undefined:
	default:
		return nil, nil, nnUnsupported(c, "input of type %s", x.DType)
	}
	u := Shape{{Size: -1}}
	outs := []*Value{{DType: x.DType, Shape: u, HasShape: true}, {DType: Int64, Shape: u, HasShape: true}}
	inv := &Value{DType: Int64, Shape: Shape{{Size: -1}}, HasShape: true}
	if c.Node.HasAttr("axis") {
		// torch.unique(dim=...): unique slices along the axis.
		outs[0] = &Value{DType: x.DType}
		if x.HasShape {
			a, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(x.Shape))
			if err != nil {
				return nil, nil, c.Errorf("%v", err)
			}
			y := append(Shape{}, x.Shape...)
			y[a] = Dim{Size: -1}
			outs[0] = &Value{DType: x.DType, Shape: y, HasShape: true}
			inv.Shape = Shape{x.Shape[a]}
		}
	} else if x.HasShape {
		inv.Shape = Shape{mulDims(x.Shape...)}
	}
	outs = append(outs, inv, &Value{DType: Int64, Shape: u, HasShape: true})
	if k := len(c.Node.Outputs); k < 1 || k > 4 {
		return nil, nil, c.Errorf("%d outputs; Unique has 1 to 4", k)
	}
	return finish(c, outs[:len(c.Node.Outputs)]...)
}

func init() {
	RegisterOp(OpSchema{OpType: "Det", SinceOpset: 11, Attrs: []string{}, Infer: inferDet})
	RegisterOp(OpSchema{OpType: "Unique", SinceOpset: 11, Attrs: []string{"axis", "sorted"}, Infer: inferUnique})
}
