package graph

// STFT (opset 17) and Col2Im (opset 18), as the newer exporters write an audio
// front end (torch.stft at opset 17: the complex result as a last axis of 2)
// and F.fold (Col2Im at opset 18). Float32 only.

import "fmt"

// STFTFrameLength returns an STFT's frame length from its window length and its
// frame_length input (-1 where absent): they must agree when both are given.
func STFTFrameLength(window, frameLength int) (int, error) {
	switch {
	case window < 0 && frameLength < 0:
		return 0, fmt.Errorf("has neither a window nor a frame_length")
	case window >= 0 && frameLength >= 0 && window != frameLength:
		return 0, fmt.Errorf("window has %d values, frame_length is %d", window, frameLength)
	case frameLength >= 0:
		if frameLength < 1 {
			return 0, fmt.Errorf("frame_length %d is not positive", frameLength)
		}
		return frameLength, nil
	}
	if window < 1 {
		return 0, fmt.Errorf("window is empty")
	}
	return window, nil
}

// STFTShape returns the frames and frequency bins of an STFT over a signal of
// length signal: floor((signal - frame) / step) + 1 frames, frame/2 + 1 bins when
// onesided, frame otherwise.
func STFTShape(signal, frame, step int, onesided bool) (frames, bins int, err error) {
	if step < 1 {
		return 0, 0, fmt.Errorf("frame_step %d is not positive", step)
	}
	if signal < frame {
		return 0, 0, fmt.Errorf("signal of length %d is shorter than a frame of %d", signal, frame)
	}
	bins = frame
	if onesided {
		bins = frame/2 + 1
	}
	return (signal-frame)/step + 1, bins, nil
}

func scalarConst(c *InferContext, i int, what string) (int, bool, error) {
	t := c.Const(i)
	if t == nil {
		return -1, false, nil
	}
	v, err := t.AsInt64()
	if err != nil || len(v) != 1 {
		return 0, false, c.Errorf("%s must be an integer scalar", what)
	}
	return int(v[0]), true, nil
}

func inferSTFT(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 4); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	if x.DType != Float32 && x.DType != Undefined {
		return nil, nil, nnUnsupported(c, "signal of type %s (float32 only)", x.DType)
	}
	if w := c.Input(2); w != nil && w.DType != Float32 && w.DType != Undefined {
		return nil, nil, nnUnsupported(c, "window of type %s (float32 only)", w.DType)
	}
	onesided := c.Node.AttrInt("onesided", 1) != 0
	out := unknownDims(4)
	out[3] = Dim{Size: 2}
	if !x.HasShape {
		return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
	}
	if len(x.Shape) != 3 {
		return nil, nil, c.Errorf("signal must be 3-D [batch, length, 1 or 2], has shape %s", x.Shape)
	}
	if d := x.Shape[2]; d.Known() && d.Size != 1 && d.Size != 2 {
		return nil, nil, c.Errorf("signal's last axis must be 1 (real) or 2 (complex), has shape %s", x.Shape)
	}
	if d := x.Shape[2]; d.Known() && d.Size == 2 && onesided {
		return nil, nil, c.Errorf("onesided output of a complex signal (ONNX defines it for real signals only)")
	}
	out[0] = x.Shape[0]
	step, okStep, err := scalarConst(c, 1, "frame_step")
	if err != nil {
		return nil, nil, err
	}
	win := -1
	if w := c.Input(2); w != nil {
		if !w.HasShape || len(w.Shape) != 1 || !w.Shape[0].Known() {
			return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
		}
		win = w.Shape[0].Size
	}
	fl := -1
	if c.Input(3) != nil {
		v, ok, err := scalarConst(c, 3, "frame_length")
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
		}
		fl = v
	}
	frame, err := STFTFrameLength(win, fl)
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	bins := frame
	if onesided {
		bins = frame/2 + 1
	}
	out[2] = Dim{Size: bins}
	if okStep && x.Shape[1].Known() {
		frames, _, err := STFTShape(x.Shape[1].Size, frame, step, onesided)
		if err != nil {
			return nil, nil, c.Errorf("%v", err)
		}
		out[1] = Dim{Size: frames}
	}
	return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
}

// Col2ImGeometry checks a Col2Im's attributes against its image and block shapes
// (r spatial axes) and returns the number of blocks along each axis.
func Col2ImGeometry(image, block, dilations, pads, strides []int64) ([]int, error) {
	r := len(image)
	if r == 0 || len(block) != r {
		return nil, fmt.Errorf("image_shape %v and block_shape %v must have the same, non-zero length", image, block)
	}
	fill := func(v []int64, n int, def int64, what string) ([]int64, error) {
		if v == nil {
			v = make([]int64, n)
			for i := range v {
				v[i] = def
			}
		}
		if len(v) != n {
			return nil, fmt.Errorf("%s %v has %d values, expected %d", what, v, len(v), n)
		}
		return v, nil
	}
	var err error
	if dilations, err = fill(dilations, r, 1, "dilations"); err != nil {
		return nil, err
	}
	if pads, err = fill(pads, 2*r, 0, "pads"); err != nil {
		return nil, err
	}
	if strides, err = fill(strides, r, 1, "strides"); err != nil {
		return nil, err
	}
	blocks := make([]int, r)
	for d := 0; d < r; d++ {
		if image[d] < 1 || block[d] < 1 || dilations[d] < 1 || strides[d] < 1 || pads[d] < 0 || pads[r+d] < 0 {
			return nil, fmt.Errorf("axis %d: image %d, block %d, dilation %d, stride %d, pads %d/%d must be positive (pads not negative)",
				d, image[d], block[d], dilations[d], strides[d], pads[d], pads[r+d])
		}
		span := image[d] + pads[d] + pads[r+d] - dilations[d]*(block[d]-1) - 1
		if span < 0 {
			return nil, fmt.Errorf("axis %d: a block of %d (dilation %d) does not fit the padded image of %d", d, block[d],
				dilations[d], image[d]+pads[d]+pads[r+d])
		}
		blocks[d] = int(span/strides[d] + 1)
	}
	return blocks, nil
}

func constIntVector(c *InferContext, i int, what string) ([]int64, bool, error) {
	t := c.Const(i)
	if t == nil {
		return nil, false, nil
	}
	v, err := t.AsInt64()
	if err != nil || len(t.Shape) != 1 {
		return nil, false, c.Errorf("%s must be a 1-D integer tensor", what)
	}
	return v, true, nil
}

func inferCol2Im(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 3, 3); err != nil {
		return nil, nil, err
	}
	x := c.Input(0)
	if x.DType != Float32 && x.DType != Undefined {
		return nil, nil, nnUnsupported(c, "input of type %s (float32 only)", x.DType)
	}
	if x.HasShape && len(x.Shape) != 3 {
		return nil, nil, c.Errorf("input must be 3-D [N, C·prod(block_shape), L], has shape %s", x.Shape)
	}
	image, okI, err := constIntVector(c, 1, "image_shape")
	if err != nil {
		return nil, nil, err
	}
	block, okB, err := constIntVector(c, 2, "block_shape")
	if err != nil {
		return nil, nil, err
	}
	if !okI || !okB {
		if v := c.Input(1); v != nil && v.HasShape && len(v.Shape) == 1 && v.Shape[0].Known() {
			out := unknownDims(2 + v.Shape[0].Size)
			if x.HasShape {
				out[0] = x.Shape[0]
			}
			return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
		}
		return finish(c, &Value{DType: Float32})
	}
	n := c.Node
	blocks, err := Col2ImGeometry(image, block, n.AttrInts("dilations", nil), n.AttrInts("pads", nil),
		n.AttrInts("strides", nil))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	out := unknownDims(2 + len(image))
	for i, s := range image {
		out[2+i] = Dim{Size: int(s)}
	}
	if x.HasShape {
		out[0] = x.Shape[0]
		kb, l := 1, 1
		for i := range block {
			kb *= int(block[i])
			l *= blocks[i]
		}
		if d := x.Shape[1]; d.Known() {
			if d.Size%kb != 0 {
				return nil, nil, c.Errorf("input's axis 1 (%d) is not a multiple of prod(block_shape %v) = %d", d.Size, block, kb)
			}
			out[1] = Dim{Size: d.Size / kb}
		}
		if d := x.Shape[2]; d.Known() && d.Size != l {
			return nil, nil, c.Errorf("input has %d blocks (axis 2), the geometry gives %v = %d", d.Size, blocks, l)
		}
	}
	return finish(c, &Value{DType: Float32, Shape: out, HasShape: true})
}

func init() {
	RegisterOp(OpSchema{OpType: "STFT", SinceOpset: 17, Attrs: []string{"onesided"}, Infer: inferSTFT})
	RegisterOp(OpSchema{OpType: "Col2Im", SinceOpset: 18, Attrs: []string{"dilations", "pads", "strides"},
		Infer: inferCol2Im})
}
