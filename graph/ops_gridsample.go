package graph

// GridSample (opset 16; opset 20's "linear"/"cubic" spellings of the modes are taken
// too): Y[n, c, h, w] samples X[n, c] at the normalized location grid[n, h, w] =
// (x, y) in [-1, 1]. Spatial transformers, optical-flow warping and deformable
// sampling export it (torch's F.grid_sample). A 5-D X (three spatial axes, grid
// [N, D_out, H_out, W_out, 3]: VoxelMorph-style volume warping) from opset 20, with
// the linear and nearest modes (ONNX defines cubic for 4-D only).

func inferGridSample(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	x, grid := c.Input(0), c.Input(1)
	switch m := c.Node.AttrString("mode", "bilinear"); m {
	case "bilinear", "linear", "nearest", "bicubic", "cubic":
	default:
		return nil, nil, nnUnsupported(c, "mode %q", m)
	}
	switch p := c.Node.AttrString("padding_mode", "zeros"); p {
	case "zeros", "border", "reflection":
	default:
		return nil, nil, nnUnsupported(c, "padding_mode %q", p)
	}
	if x.DType != Float32 {
		return nil, nil, nnUnsupported(c, "input of type %s (float32 only)", x.DType)
	}
	r := 4
	if x.HasShape {
		r = len(x.Shape)
	} else if grid.HasShape {
		r = len(grid.Shape)
	}
	switch {
	case r == 5 && c.Opset < 20:
		return nil, nil, nnUnsupported(c, "input of rank 5 before opset 20 (the model has opset %d)", c.Opset)
	case r == 5:
		if m := c.Node.AttrString("mode", "bilinear"); m == "cubic" || m == "bicubic" {
			return nil, nil, c.Errorf("mode %q on a 5-D input (ONNX defines cubic for 4-D inputs only)", m)
		}
	case r != 4:
		return nil, nil, nnUnsupported(c, "input of rank %d (4-D N, C, H, W or 5-D N, C, D, H, W)", r)
	}
	out := unknownDims(r)
	if x.HasShape {
		if len(x.Shape) != r {
			return nil, nil, c.Errorf("input of shape %s and grid of shape %s differ in rank", x.Shape, grid.Shape)
		}
		out[0], out[1] = x.Shape[0], x.Shape[1]
	}
	if grid.HasShape {
		if len(grid.Shape) != r {
			return nil, nil, c.Errorf("grid must be %d-D [N, spatial out..., %d], has shape %s", r, r-2, grid.Shape)
		}
		if d := grid.Shape[r-1]; d.Known() && d.Size != r-2 {
			return nil, nil, c.Errorf("grid's last dimension must be %d for a %d-D input, has shape %s", r-2, r, grid.Shape)
		}
		if !out[0].Known() {
			out[0] = grid.Shape[0]
		}
		copy(out[2:], grid.Shape[1:r-1])
	}
	return finish(c, &Value{DType: x.DType, Shape: out, HasShape: true})
}

func init() {
	RegisterOp(OpSchema{OpType: "GridSample", SinceOpset: 16, Attrs: []string{"align_corners", "mode", "padding_mode"},
		Infer: inferGridSample})
}

// AffineGrid (opset 20): the sampling grid of an affine transform, theta [N, 2, 3]
// and size [N, C, H, W] -> grid [N, H, W, 2] (F.affine_grid; spatial transformers).
// Only the 2-D form here.
func inferAffineGrid(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	theta := c.Input(0)
	if theta.DType != Float32 && theta.DType != Undefined {
		return nil, nil, nnUnsupported(c, "theta of type %s (float32 only)", theta.DType)
	}
	if theta.HasShape {
		if n, ok := theta.Shape.Concrete(); ok && (len(n) != 3 || n[1] != 2 || n[2] != 3) {
			return nil, nil, nnUnsupported(c, "theta of shape %s (the 2-D form [N, 2, 3] only)", theta.Shape)
		}
	}
	out := unknownDims(4)
	out[3] = Dim{Size: 2}
	if t := c.Const(1); t != nil {
		size, err := t.AsInt64()
		if err != nil || len(size) != 4 {
			return nil, nil, nnUnsupported(c, "size %v (the 2-D form [N, C, H, W] only)", t.Shape)
		}
		out[0], out[1], out[2] = Dim{Size: int(size[0])}, Dim{Size: int(size[2])}, Dim{Size: int(size[3])}
	} else if theta.HasShape && len(theta.Shape) == 3 {
		out[0] = theta.Shape[0]
	}
	return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
}

func init() {
	RegisterOp(OpSchema{OpType: "AffineGrid", SinceOpset: 20, Attrs: []string{"align_corners"}, Infer: inferAffineGrid})
}
