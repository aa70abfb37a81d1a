package graph

// Detection post-processing: NonMaxSuppression (torchvision's batched_nms and
// exported YOLO/SSD heads write it).

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
}
