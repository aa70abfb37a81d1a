package graph

// Shape schemas of Concat, Split, Slice and Compress, with the exported Slice/Split
// rules the runtime kernels share.

import (
	"fmt"
)

func inferConcat(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, -1); err != nil {
		return nil, nil, err
	}
	if !c.Node.HasAttr("axis") {
		return nil, nil, c.Errorf("attribute axis is required")
	}
	idx := make([]int, len(c.Node.Inputs))
	for i := range idx {
		idx[i] = i
		if c.Node.Inputs[i] == "" {
			return nil, nil, c.Errorf("input %d is empty", i)
		}
	}
	dt, err := sameInputTypes(c, idx...)
	if err != nil {
		return nil, nil, err
	}
	var out Shape
	axis := -1
	for i := range idx {
		v := c.Input(i)
		if !v.HasShape {
			continue
		}
		if out == nil {
			a, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(v.Shape))
			if err != nil {
				return nil, nil, c.Errorf("%v", err)
			}
			axis = a
			out = append(Shape{}, v.Shape...)
			continue
		}
		if len(v.Shape) != len(out) {
			return nil, nil, c.Errorf("input %d (%q) has rank %d, input 0 has rank %d", i, c.Node.Input(i), len(v.Shape), len(out))
		}
		for k := range out {
			if k == axis {
				continue
			}
			switch {
			case out[k].Known() && v.Shape[k].Known() && out[k].Size != v.Shape[k].Size:
				return nil, nil, c.Errorf("input %d (%q) has shape %s, incompatible with %s outside axis %d", i, c.Node.Input(i), v.Shape, out, axis)
			case !out[k].Known():
				out[k] = v.Shape[k]
			}
		}
	}
	if out == nil {
		return finish(c, &Value{DType: dt})
	}
	sum := 0
	for i := range idx {
		v := c.Input(i)
		if !v.HasShape || !v.Shape[axis].Known() {
			sum = -1
			break
		}
		sum += v.Shape[axis].Size
	}
	out[axis] = Dim{Size: sum}
	return finish(c, &Value{DType: dt, Shape: out, HasShape: true})
}

// SplitSizes resolves the sizes of a Split along an axis of size dim into n outputs:
// the explicit split (which must sum to dim) or equal parts (dim must divide evenly).
func SplitSizes(dim int, split []int64, n int) ([]int, error) {
	out := make([]int, n)
	if split != nil {
		if len(split) != n {
			return nil, fmt.Errorf("split %v has %d entries for %d outputs", split, len(split), n)
		}
		sum := int64(0)
		for i, s := range split {
			if s < 0 {
				return nil, fmt.Errorf("split %v has a negative size", split)
			}
			sum += s
			out[i] = int(s)
		}
		if sum != int64(dim) {
			return nil, fmt.Errorf("split %v sums to %d, the axis has size %d", split, sum, dim)
		}
		return out, nil
	}
	if n == 0 || dim%n != 0 {
		return nil, fmt.Errorf("axis of size %d cannot be split into %d equal parts", dim, n)
	}
	for i := range out {
		out[i] = dim / n
	}
	return out, nil
}

// SplitNodeSizes is SplitSizes for Split node n, with Split-18's num_outputs:
// without a split input, that many outputs of ceil(dim / num_outputs) elements,
// the last one smaller when the axis does not divide (the opset-18 rule; before
// it the axis had to divide). num_outputs must equal the node's output count
// and cannot come with a split input.
func SplitNodeSizes(n *Node, dim int, split []int64) ([]int, error) {
	nout := len(n.Outputs)
	if !n.HasAttr("num_outputs") {
		return SplitSizes(dim, split, nout)
	}
	k := n.AttrInt("num_outputs", 0)
	switch {
	case split != nil:
		return nil, fmt.Errorf("has both a split input and num_outputs %d", k)
	case k != int64(nout) || k <= 0:
		return nil, fmt.Errorf("num_outputs %d for %d outputs", k, nout)
	}
	chunk := (dim + nout - 1) / nout
	last := dim - chunk*(nout-1)
	if last < 0 {
		return nil, fmt.Errorf("axis of size %d cannot be split into %d parts of %d", dim, nout, chunk)
	}
	out := make([]int, nout)
	for i := range out {
		out[i] = chunk
	}
	out[nout-1] = last
	return out, nil
}

func inferSplit(c *InferContext) ([]*Value, []*Tensor, error) {
	if c.Node.HasAttr("num_outputs") && c.Opset < 18 {
		return nil, nil, errorf(c.Node, "%w attribute \"num_outputs\" at opset %d (Split has it since opset 18)", ErrUnsupported, c.Opset)
	}
	if err := attrBecameInput(c, 13, "split"); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	n := len(c.Node.Outputs)
	if n == 0 {
		return nil, nil, c.Errorf("has no outputs")
	}
	split, _, known, err := intsArgument(c, "split", 13, 1)
	if err != nil {
		return nil, nil, err
	}
	outs := make([]*Value, n)
	for i := range outs {
		outs[i] = &Value{DType: in.DType}
	}
	if !in.HasShape {
		return finish(c, outs...)
	}
	axis, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(in.Shape))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	var sizes []int
	switch {
	case !known:
	case in.Shape[axis].Known():
		if sizes, err = SplitNodeSizes(c.Node, in.Shape[axis].Size, split); err != nil {
			return nil, nil, c.Errorf("%v", err)
		}
	case split != nil:
		sizes = Int64sToInts(split)
	}
	for i := range outs {
		s := append(Shape{}, in.Shape...)
		s[axis] = Dim{Size: -1}
		if sizes != nil {
			s[axis] = Dim{Size: sizes[i]}
		}
		outs[i].Shape, outs[i].HasShape = s, true
	}
	return finish(c, outs...)
}

// SliceParams are resolved Slice bounds for one axis: the output has Len elements,
// read from Start with Step.
type SliceParams struct {
	Start, Step, Len int
}

// ResolveSlice clamps a Slice's start/end/step for one axis of size dim following the
// ONNX rules (negative values count from the end; out-of-range values are clamped, to
// [0, dim] for positive steps and [-1, dim-1] for negative ones).
func ResolveSlice(dim int, start, end, step int64) (SliceParams, error) {
	if step == 0 {
		return SliceParams{}, fmt.Errorf("slice step cannot be 0")
	}
	d := int64(dim)
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	var n int64
	if step > 0 {
		start = max(0, min(start, d))
		end = max(0, min(end, d))
		if end > start {
			n = (end - start + step - 1) / step
		}
	} else {
		start = max(-1, min(start, d-1))
		end = max(-1, min(end, d-1))
		if start > end {
			n = (start - end - step - 1) / -step
		}
	}
	return SliceParams{Start: int(start), Step: int(step), Len: int(n)}, nil
}

func inferSlice(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := noLegacyAttrs(c, 10, "starts", "ends", "axes"); err != nil {
		return nil, nil, err
	}
	if c.Opset < 10 {
		if err := requireInputs(c, 1, 1); err != nil {
			return nil, nil, err
		}
	} else if err := requireInputs(c, 3, 5); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return finish(c, &Value{DType: in.DType})
	}
	r := len(in.Shape)
	var starts, ends, axes, steps []int64
	known := true
	if c.Opset < 10 {
		starts, ends, axes = c.Node.AttrInts("starts", nil), c.Node.AttrInts("ends", nil), c.Node.AttrInts("axes", nil)
		if starts == nil || ends == nil {
			return nil, nil, c.Errorf("attributes starts and ends are required")
		}
	} else {
		var err error
		for i, p := range []*[]int64{&starts, &ends, &axes, &steps} {
			if c.Node.Input(i+1) == "" {
				continue
			}
			if *p, err = constInts(c, i+1); err != nil {
				return nil, nil, err
			}
			if *p == nil {
				known = false
			}
		}
	}
	out := append(Shape{}, in.Shape...)
	if !known {
		// Unknown bounds: the sliced axes are unknown; without constant axes, all are.
		if c.Opset >= 10 && c.Node.Input(3) != "" && axes != nil {
			ax, err := NormalizeAxes(axes, r)
			if err != nil {
				return nil, nil, c.Errorf("axes: %v", err)
			}
			for _, a := range ax {
				out[a] = Dim{Size: -1}
			}
		} else {
			out = unknownDims(r)
		}
		return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
	}
	ax, st, err := SliceAxes(r, starts, ends, axes, steps)
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	for i, a := range ax {
		if !in.Shape[a].Known() {
			out[a] = Dim{Size: -1}
			continue
		}
		p, err := ResolveSlice(in.Shape[a].Size, starts[i], ends[i], st[i])
		if err != nil {
			return nil, nil, c.Errorf("%v", err)
		}
		out[a] = Dim{Size: p.Len}
	}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

// SliceAxes validates Slice operands for a rank and returns the normalized axes (default
// 0..len(starts)-1) and steps (default 1).
func SliceAxes(rank int, starts, ends, axes, steps []int64) ([]int, []int64, error) {
	if len(starts) != len(ends) {
		return nil, nil, fmt.Errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		axes = make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if len(axes) != len(starts) {
		return nil, nil, fmt.Errorf("axes %v and starts %v differ in length", axes, starts)
	}
	ax, err := NormalizeAxes(axes, rank)
	if err != nil {
		return nil, nil, fmt.Errorf("axes: %v", err)
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(steps) != len(starts) {
		return nil, nil, fmt.Errorf("steps %v and starts %v differ in length", steps, starts)
	}
	return ax, steps, nil
}

func inferCompress(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, boolTypes); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !c.Node.HasAttr("axis") {
		return finish(c, &Value{DType: in.DType, Shape: unknownDims(1), HasShape: true})
	}
	if !in.HasShape {
		return finish(c, &Value{DType: in.DType})
	}
	a, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(in.Shape))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	out := append(Shape{}, in.Shape...)
	out[a] = Dim{Size: -1}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

func init() {
	RegisterOp(OpSchema{OpType: "Concat", SinceOpset: 4, Attrs: []string{"axis"}, Infer: inferConcat})
	RegisterOp(OpSchema{OpType: "Split", SinceOpset: 2, Attrs: []string{"axis", "split", "num_outputs"}, Infer: inferSplit})
	RegisterOp(OpSchema{OpType: "Slice", SinceOpset: 1, Attrs: []string{"starts", "ends", "axes"}, Infer: inferSlice})
	RegisterOp(OpSchema{OpType: "Compress", SinceOpset: 9, Attrs: []string{"axis"}, Infer: inferCompress})
}
