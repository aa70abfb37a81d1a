package graph

// Shape schemas of MaxUnpool (paddle2onnx's MaxUnPool2D, a SegNet decoder) and
// MaxRoiPool (torchvision.ops.roi_pool, Fast R-CNN's RoI max pooling).

import "fmt"

// MaxUnpoolOutShape is the default output size of MaxUnpool along each spatial
// axis: (in - 1)·stride - pad_begin - pad_end + kernel.
func MaxUnpoolOutShape(in []int, kernel, strides, pads []int64) ([]int, error) {
	k := len(kernel)
	if len(in) != k {
		return nil, fmt.Errorf("kernel_shape has %d values for %d spatial axes", k, len(in))
	}
	if strides != nil && len(strides) != k {
		return nil, fmt.Errorf("strides has %d values for %d spatial axes", len(strides), k)
	}
	if pads != nil && len(pads) != 2*k {
		return nil, fmt.Errorf("pads has %d values for %d spatial axes", len(pads), k)
	}
	out := make([]int, k)
	for i := range out {
		s, pb, pe := int64(1), int64(0), int64(0)
		if strides != nil {
			s = strides[i]
		}
		if pads != nil {
			pb, pe = pads[i], pads[k+i]
		}
		if kernel[i] < 1 || s < 1 || pb < 0 || pe < 0 {
			return nil, fmt.Errorf("kernel %d, stride %d and pads %d, %d must be positive (pads non-negative)", kernel[i], s, pb, pe)
		}
		o := (int64(in[i])-1)*s - pb - pe + kernel[i]
		if o < 0 {
			return nil, fmt.Errorf("output size %d along spatial axis %d is negative", o, i)
		}
		out[i] = int(o)
	}
	return out, nil
}

func inferMaxUnpool(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 3); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, floatTypes); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, typeSet{Int64}); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	kernel := c.Node.AttrInts("kernel_shape", nil)
	if kernel == nil {
		return nil, nil, c.Errorf("missing attribute kernel_shape")
	}
	if !x.HasShape {
		return finish(c, &Value{DType: x.DType})
	}
	if len(x.Shape) != 2+len(kernel) {
		return nil, nil, c.Errorf("input of shape %s for a kernel of %d axes", x.Shape, len(kernel))
	}
	out := append(Shape{}, x.Shape...)
	if c.Node.Input(2) != "" {
		v, err := constInts(c, 2)
		if err != nil {
			return nil, nil, err
		}
		if v == nil {
			for i := 2; i < len(out); i++ {
				out[i] = Dim{Size: -1}
			}
			return finish(c, &Value{DType: x.DType, Shape: out, HasShape: true})
		}
		if len(v) != len(out) {
			return nil, nil, c.Errorf("output_shape has %d values for an input of rank %d", len(v), len(out))
		}
		for i := 2; i < len(out); i++ {
			if v[i] < 0 {
				return nil, nil, c.Errorf("output_shape %v has a negative size", v)
			}
			out[i] = Dim{Size: int(v[i])}
		}
		return finish(c, &Value{DType: x.DType, Shape: out, HasShape: true})
	}
	sp := make([]int, len(kernel))
	for i := range sp {
		if !x.Shape[2+i].Known() {
			for j := 2; j < len(out); j++ {
				out[j] = Dim{Size: -1}
			}
			return finish(c, &Value{DType: x.DType, Shape: out, HasShape: true})
		}
		sp[i] = x.Shape[2+i].Size
	}
	o, err := MaxUnpoolOutShape(sp, kernel, c.Node.AttrInts("strides", nil), c.Node.AttrInts("pads", nil))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	for i, s := range o {
		out[2+i] = Dim{Size: s}
	}
	return finish(c, &Value{DType: x.DType, Shape: out, HasShape: true})
}

func inferMaxRoiPool(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, typeSet{Float32}); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, typeSet{Float32}); err != nil {
		return nil, nil, err
	}
	ps := c.Node.AttrInts("pooled_shape", nil)
	if len(ps) != 2 || ps[0] < 1 || ps[1] < 1 {
		return nil, nil, c.Errorf("pooled_shape must be two positive sizes, is %v", ps)
	}
	x, rois := c.Input(0), c.Input(1)
	if x.HasShape && len(x.Shape) != 4 {
		return nil, nil, c.Errorf("input must be 4-D [N, C, H, W], has shape %s", x.Shape)
	}
	if rois.HasShape && (len(rois.Shape) != 2 || (rois.Shape[1].Known() && rois.Shape[1].Size != 5)) {
		return nil, nil, c.Errorf("rois must be [num_rois, 5], has shape %s", rois.Shape)
	}
	out := Shape{{Size: -1}, {Size: -1}, {Size: int(ps[0])}, {Size: int(ps[1])}}
	if rois.HasShape {
		out[0] = rois.Shape[0]
	}
	if x.HasShape {
		out[1] = x.Shape[1]
	}
	return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
}

func init() {
	RegisterOp(OpSchema{OpType: "MaxUnpool", SinceOpset: 9, Attrs: []string{"kernel_shape", "pads", "strides"}, Infer: inferMaxUnpool})
	RegisterOp(OpSchema{OpType: "MaxRoiPool", SinceOpset: 1, Attrs: []string{"pooled_shape", "spatial_scale"}, Infer: inferMaxRoiPool})
}
