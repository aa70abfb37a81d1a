package graph

// The shape schema of DeformConv (opset 19): a 2-D convolution whose taps are
// moved by per-position offsets (and weighted by a modulation mask, DCNv2), as
// detection heads and the ONNX exports of deformable convolutions write it.
// Inputs X [N, C, H, W], W [oC, C/group, kH, kW], offset [N, offset_group·2·kH·kW,
// oH, oW], optional B [oC] and mask [N, offset_group·kH·kW, oH, oW]; the output
// size is a Conv's.

import "math"

var deformConvAttrs = []string{"dilations", "group", "kernel_shape", "offset_group", "pads", "strides"}

// DeformConvGroups reads DeformConv's group and offset_group (both default 1,
// positive).
func DeformConvGroups(n *Node) (group, offsetGroup int, err error) {
	g, og := n.AttrInt("group", 1), n.AttrInt("offset_group", 1)
	if g < 1 || g > math.MaxInt32 || og < 1 || og > math.MaxInt32 {
		return 0, 0, errorf(n, "group %d and offset_group %d must be positive", g, og)
	}
	return int(g), int(og), nil
}

func inferDeformConv(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 3, 5); err != nil {
		return nil, nil, err
	}
	for i, what := range []string{"X", "W", "offset", "B", "mask"} {
		if c.Node.Input(i) == "" {
			continue
		}
		if err := checkInputType(c, i, typeSet{Float32}); err != nil {
			return nil, nil, err
		}
		if v := c.Input(i); v != nil && v.DType != Undefined && c.Input(0).DType != Undefined && v.DType != c.Input(0).DType {
			return nil, nil, c.Errorf("%s is %s, X is %s", what, v.DType, c.Input(0).DType)
		}
	}
	group, og, err := DeformConvGroups(c.Node)
	if err != nil {
		return nil, nil, err
	}
	x, w := c.Input(0), c.Input(1)
	if !x.HasShape {
		return finish(c, &Value{DType: x.DType})
	}
	if len(x.Shape) != 4 {
		return nil, nil, c.Errorf("input X has shape %s; DeformConv takes 2-D inputs [N, C, H, W]", x.Shape)
	}
	if w.HasShape && len(w.Shape) != 4 {
		return nil, nil, c.Errorf("weight W has shape %s, expected [oC, C/group, kH, kW]", w.Shape)
	}
	outCh := Dim{Size: -1}
	if w.HasShape {
		if w.Shape[1].Known() && x.Shape[1].Known() && w.Shape[1].Size*group != x.Shape[1].Size {
			return nil, nil, c.Errorf("weight W %s with group %d expects %d input channels, X %s has %d",
				w.Shape, group, w.Shape[1].Size*group, x.Shape, x.Shape[1].Size)
		}
		if w.Shape[0].Known() {
			if w.Shape[0].Size%group != 0 {
				return nil, nil, c.Errorf("%d output channels are not divisible by group %d", w.Shape[0].Size, group)
			}
			outCh = w.Shape[0]
		}
	}
	if x.Shape[1].Known() && x.Shape[1].Size%og != 0 {
		return nil, nil, c.Errorf("%d input channels are not divisible by offset_group %d", x.Shape[1].Size, og)
	}
	kernel, ok, err := ConvKernelShape(c.Node, w, 2)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return finish(c, nnUnknownRankWith(x.DType, 4, x.Shape[0], outCh))
	}
	geom, err := ResolveConvGeom(c.Node, nnSpatialIn(x), kernel, false)
	if err != nil {
		return nil, nil, err
	}
	taps := kernel[0] * kernel[1]
	check := func(i int, what string, ch int) error {
		v := c.Input(i)
		if c.Node.Input(i) == "" || v == nil || !v.HasShape {
			return nil
		}
		if len(v.Shape) != 4 {
			return c.Errorf("%s has shape %s, expected [N, %d, %d, %d]", what, v.Shape, ch, geom.Out[0], geom.Out[1])
		}
		want := []int{-1, ch, geom.Out[0], geom.Out[1]}
		for a, d := range v.Shape {
			if a == 0 {
				if d.Known() && x.Shape[0].Known() && d.Size != x.Shape[0].Size {
					return c.Errorf("%s has batch %d, X has %d", what, d.Size, x.Shape[0].Size)
				}
				continue
			}
			if d.Known() && want[a] >= 0 && d.Size != want[a] {
				return c.Errorf("%s has shape %s, expected [N, %d, %d, %d] (offset_group %d, kernel %v, output %v)",
					what, v.Shape, ch, geom.Out[0], geom.Out[1], og, kernel, geom.Out)
			}
		}
		return nil
	}
	if err := check(2, "offset", og*2*taps); err != nil {
		return nil, nil, err
	}
	if err := check(4, "mask", og*taps); err != nil {
		return nil, nil, err
	}
	if b := c.Input(3); c.Node.Input(3) != "" && b != nil && b.HasShape {
		if len(b.Shape) != 1 || (outCh.Known() && b.Shape[0].Known() && b.Shape[0].Size != outCh.Size) {
			return nil, nil, c.Errorf("bias B has shape %s, expected [%d] (output channels)", b.Shape, outCh.Size)
		}
	}
	return finish(c, nnValue(x.DType, nnOutShape(x.Shape[0], outCh, geom.Out)))
}

func init() {
	RegisterOp(OpSchema{OpType: "DeformConv", SinceOpset: 19, Attrs: deformConvAttrs, Infer: inferDeformConv})
}
