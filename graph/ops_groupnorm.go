package graph

// GroupNormalization (opset 18; scale and bias per channel since opset 21, per
// group in 18-20): y = (x - mean_g) / sqrt(var_g + epsilon) · scale + bias over
// x [N, C, spatial...], the statistics over each group of C / num_groups
// channels and all positions. torch.onnx before the operator, and the
// converters, write it as Reshape -> InstanceNormalization -> Reshape -> Mul ->
// Add (runtime/fuse_groupnorm.go).

func inferGroupNormalization(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 3, 3); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	if x.DType != Float32 && x.DType != Undefined {
		return nil, nil, nnUnsupported(c, "input of type %s (float32 only)", x.DType)
	}
	g := c.Node.AttrInt("num_groups", 0)
	if g < 1 {
		return nil, nil, c.Errorf("num_groups %d must be positive", g)
	}
	if st := c.Node.AttrInt("stash_type", 1); st != 1 {
		return nil, nil, nnUnsupported(c, "stash_type %d (float32 statistics only)", st)
	}
	if !x.HasShape {
		return finish(c, &Value{DType: x.DType})
	}
	if len(x.Shape) < 3 {
		return nil, nil, c.Errorf("input must be [N, C, spatial...], has shape %s", x.Shape)
	}
	if ch := x.Shape[1]; ch.Known() {
		if int64(ch.Size)%g != 0 {
			return nil, nil, c.Errorf("%d channels do not divide into num_groups %d", ch.Size, g)
		}
		want := ch.Size
		if c.Opset < 21 {
			want = int(g)
		}
		for i := 1; i < 3; i++ {
			if v := c.Input(i); v.HasShape {
				if n, ok := v.Shape.Concrete(); ok && (len(n) != 1 || n[0] != want) {
					return nil, nil, c.Errorf("input %d (%q) has shape %s, expected [%d] at opset %d", i, c.Node.Input(i), v.Shape, want, c.Opset)
				}
			}
		}
	}
	return finish(c, valueOf(x.DType, x.Shape, true))
}

func init() {
	RegisterOp(OpSchema{OpType: "GroupNormalization", SinceOpset: 18, Attrs: []string{"epsilon", "num_groups", "stash_type"},
		Infer: inferGroupNormalization})
}
