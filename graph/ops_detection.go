package graph

// Detection operators: NonMaxSuppression (torchvision's batched_nms and exported
// YOLO/SSD heads write it) and RoiAlign (two-stage detectors' box heads).

func inferNonMaxSuppression(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 5); err != nil {
		return nil, nil, err
	}
	boxes, scores := c.Input(0), c.Input(1)
	if boxes.DType != Float32 || scores.DType != Float32 {
		return nil, nil, c.Errorf("boxes and scores are %s and %s, expected float32", boxes.DType, scores.DType)
	}
	if cb := c.Node.AttrInt("center_point_box", 0); cb != 0 && cb != 1 {
		return nil, nil, c.Errorf("center_point_box is %d, expected 0 or 1", cb)
	}
	if boxes.HasShape && (len(boxes.Shape) != 3 || boxes.Shape[2].Known() && boxes.Shape[2].Size != 4) {
		return nil, nil, c.Errorf("boxes have shape %s, expected [batch, boxes, 4]", boxes.Shape)
	}
	if scores.HasShape && len(scores.Shape) != 3 {
		return nil, nil, c.Errorf("scores have shape %s, expected [batch, classes, boxes]", scores.Shape)
	}
	if boxes.HasShape && scores.HasShape {
		for _, p := range [][2]int{{0, 0}, {1, 2}} {
			b, s := boxes.Shape[p[0]], scores.Shape[p[1]]
			if b.Known() && s.Known() && b.Size != s.Size {
				return nil, nil, c.Errorf("boxes %s and scores %s disagree (dimension %d of boxes is %d, dimension %d of scores is %d)",
					boxes.Shape, scores.Shape, p[0], b.Size, p[1], s.Size)
			}
		}
	}
	// [selected, 3]: (batch, class, box) per selected box; how many depends on the data.
	return finish(c, &Value{DType: Int64, Shape: Shape{{Size: -1}, {Size: 3}}, HasShape: true})
}

func init() {
	RegisterOp(OpSchema{OpType: "NonMaxSuppression", SinceOpset: 10, Attrs: []string{"center_point_box"}, Infer: inferNonMaxSuppression})
	RegisterOp(OpSchema{OpType: "RoiAlign", SinceOpset: 10, Infer: inferRoiAlign,
		Attrs: []string{"coordinate_transformation_mode", "mode", "output_height", "output_width", "sampling_ratio", "spatial_scale"}})
}

func inferRoiAlign(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 3, 3); err != nil {
		return nil, nil, err
	}
	x, rois, idx := c.Input(0), c.Input(1), c.Input(2)
	if x.DType != Float32 || rois.DType != Float32 {
		return nil, nil, c.Errorf("X and rois are %s and %s, expected float32", x.DType, rois.DType)
	}
	if idx.DType != Int64 {
		return nil, nil, c.Errorf("batch_indices is %s, expected int64", idx.DType)
	}
	if m := c.Node.AttrString("mode", "avg"); m != "avg" && m != "max" {
		return nil, nil, c.Errorf("unsupported mode %q (avg or max)", m)
	}
	if m := c.Node.AttrString("coordinate_transformation_mode", "half_pixel"); m != "half_pixel" && m != "output_half_pixel" {
		return nil, nil, c.Errorf("unsupported coordinate_transformation_mode %q", m)
	}
	oh, ow := c.Node.AttrInt("output_height", 1), c.Node.AttrInt("output_width", 1)
	if oh < 1 || ow < 1 {
		return nil, nil, c.Errorf("output size %dx%d must be positive", oh, ow)
	}
	if x.HasShape && len(x.Shape) != 4 {
		return nil, nil, c.Errorf("X has shape %s, expected [N, C, H, W]", x.Shape)
	}
	if rois.HasShape && (len(rois.Shape) != 2 || rois.Shape[1].Known() && rois.Shape[1].Size != 4) {
		return nil, nil, c.Errorf("rois have shape %s, expected [num_rois, 4]", rois.Shape)
	}
	out := Shape{{Size: -1}, {Size: -1}, {Size: int(oh)}, {Size: int(ow)}}
	if rois.HasShape {
		out[0] = rois.Shape[0]
	}
	if x.HasShape {
		out[1] = x.Shape[1]
	}
	return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
}
