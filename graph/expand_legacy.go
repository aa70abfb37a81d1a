package graph

// The experimental operators of ONNX before opset 10 that the ONNX model zoo's
// opset 7-9 files and CNTK/Caffe2/CoreML converters wrote (tiny-yolov2-8 and
// emotion-ferplus-8 begin with ImageScaler), removed from the standard in
// opset 10 (seventeenth session, the unseen12 set). Each is an affine map, an
// activation or a slice, so it is written out in standard operators at load like
// the function operators of expand_ops.go; the executors, the quantizer and the
// simulator then see Mul/Add/Tanh/Softplus/Slice.

func init() {
	registerExpansion("", "ImageScaler", expandImageScaler)
	registerExpansion("", "Scale", expandScale)
	registerExpansion("", "Affine", expandAffine)
	registerExpansion("", "ScaledTanh", expandScaledTanh)
	registerExpansion("", "ParametricSoftplus", expandParametricSoftplus)
	registerExpansion("", "Crop", expandCrop)
}

// expandImageScaler: y = scale * x + bias[c] on NCHW (bias per channel, scale 1
// and no bias by default).
func expandImageScaler(e *expander, n *Node) error {
	x, dt := in(n, 0), e.dtypeOf(in(n, 0))
	bias := n.AttrFloats("bias", nil)
	scale := n.AttrFloat("scale", 1)
	if len(bias) == 0 {
		e.std("Mul", n.Output(0), []string{x, e.scalar(float64(scale), dt)})
		return nil
	}
	if v := e.g.Values[x]; v != nil && v.HasShape && len(v.Shape) > 1 && v.Shape[1].Known() && v.Shape[1].Size != len(bias) {
		return refuse("%d bias values for %d channels", len(bias), v.Shape[1].Size)
	}
	b := e.constant("bias", e.floats(dt, []int{1, len(bias), 1, 1}, bias))
	e.std("Add", n.Output(0), []string{e.std("Mul", "", []string{x, e.scalar(float64(scale), dt)}), b})
	return nil
}

// expandScale: y = scale * x.
func expandScale(e *expander, n *Node) error {
	x := in(n, 0)
	e.std("Mul", n.Output(0), []string{x, e.scalar(float64(n.AttrFloat("scale", 1)), e.dtypeOf(x))})
	return nil
}

// expandAffine: y = alpha * x + beta.
func expandAffine(e *expander, n *Node) error {
	x, dt := in(n, 0), e.dtypeOf(in(n, 0))
	ax := e.std("Mul", "", []string{x, e.scalar(float64(n.AttrFloat("alpha", 1)), dt)})
	e.std("Add", n.Output(0), []string{ax, e.scalar(float64(n.AttrFloat("beta", 0)), dt)})
	return nil
}

// expandScaledTanh: y = alpha * tanh(beta * x).
func expandScaledTanh(e *expander, n *Node) error {
	x, dt := in(n, 0), e.dtypeOf(in(n, 0))
	bx := e.std("Mul", "", []string{x, e.scalar(float64(n.AttrFloat("beta", 1)), dt)})
	e.std("Mul", n.Output(0), []string{e.std("Tanh", "", []string{bx}), e.scalar(float64(n.AttrFloat("alpha", 1)), dt)})
	return nil
}

// expandParametricSoftplus: y = alpha * ln(exp(beta * x) + 1).
func expandParametricSoftplus(e *expander, n *Node) error {
	x, dt := in(n, 0), e.dtypeOf(in(n, 0))
	bx := e.std("Mul", "", []string{x, e.scalar(float64(n.AttrFloat("beta", 1)), dt)})
	e.std("Mul", n.Output(0), []string{e.std("Softplus", "", []string{bx}), e.scalar(float64(n.AttrFloat("alpha", 1)), dt)})
	return nil
}

// expandCrop: NCHW x cropped by border [left, top, right, bottom], or, with
// scale [h, w], the h x w window starting at (top, left) (ONNX 1.2's definition).
func expandCrop(e *expander, n *Node) error {
	border := n.AttrInts("border", nil)
	if len(border) != 4 {
		return refuse("border of %d values (Crop takes [left, top, right, bottom])", len(border))
	}
	left, top, right, bottom := border[0], border[1], border[2], border[3]
	starts := []int64{top, left}
	var ends []int64
	switch scale := n.AttrInts("scale", nil); len(scale) {
	case 0:
		// A right or bottom border of 0 is the end of the axis.
		ends = []int64{-bottom, -right}
		for i, v := range ends {
			if v == 0 {
				ends[i] = 1 << 62
			}
		}
	case 2:
		ends = []int64{top + scale[0], left + scale[1]}
	default:
		return refuse("scale of %d values (Crop takes [height, width])", len(scale))
	}
	x := in(n, 0)
	if e.opset >= 10 {
		e.std("Slice", n.Output(0), []string{x, e.ints(starts...), e.ints(ends...), e.ints(2, 3)})
		return nil
	}
	e.std("Slice", n.Output(0), []string{x}, Int64sAttr("starts", starts), Int64sAttr("ends", ends),
		Int64sAttr("axes", []int64{2, 3}))
	return nil
}

// floats is a constant tensor of dtype dt (float32 unless dt is float16 or float64).
func (e *expander) floats(dt DType, shape []int, v []float32) *Tensor {
	switch dt {
	case Float64:
		t := NewTensor(Float64, shape)
		for i, x := range v {
			t.Data.([]float64)[i] = float64(x)
		}
		return t
	case Float16:
		t := NewTensor(Float16, shape)
		for i, x := range v {
			t.Data.([]uint16)[i] = Float32ToFloat16(x)
		}
		return t
	}
	return FromFloat32(shape, append([]float32(nil), v...))
}
