package graph

import "fmt"

// Shape inference of the sequence operators (ONNX opset 11+). A sequence value
// (seq_value.go) carries its elements' type and what their shapes have in
// common: a dimension that may differ between elements (the chunks of a split
// by a list of sizes, the list a loop appends tensors of varying length to) is
// unknown, never guessed. What a node needs and cannot know (the rank, to place
// a negative axis) is an error naming the node.

func init() {
	for _, s := range []OpSchema{
		{OpType: "SequenceEmpty", Attrs: []string{"dtype"}, Infer: inferSequenceEmpty},
		{OpType: "SequenceConstruct", Attrs: []string{}, Infer: inferSequenceConstruct},
		{OpType: "SequenceInsert", Attrs: []string{}, Infer: inferSequenceInsert},
		{OpType: "SequenceErase", Attrs: []string{}, Infer: inferSequenceErase},
		{OpType: "SequenceAt", Attrs: []string{}, Infer: inferSequenceAt},
		{OpType: "SequenceLength", Attrs: []string{}, Infer: inferSequenceLength},
		{OpType: "SplitToSequence", Attrs: []string{"axis", "keepdims"}, Infer: inferSplitToSequence},
		{OpType: "ConcatFromSequence", Attrs: []string{"axis", "new_axis"}, Infer: inferConcatFromSequence},
	} {
		s.SinceOpset = 11
		RegisterOp(s)
	}
}

// seqInput returns input i, which must be a sequence.
func seqInput(c *InferContext, i int) (*Value, error) {
	v := c.Input(i)
	if v == nil {
		return nil, c.Errorf("input %d (a sequence) is missing", i)
	}
	if !v.Seq {
		return nil, c.Errorf("input %d (%q) is a tensor, want a sequence", i, c.Node.Inputs[i])
	}
	return v, nil
}

// tensorInput returns input i, which must be a tensor.
func tensorInput(c *InferContext, i int) (*Value, error) {
	v := c.Input(i)
	if v == nil {
		return nil, c.Errorf("input %d (a tensor) is missing", i)
	}
	if v.Seq {
		return nil, c.Errorf("input %d (%q) is a sequence, want a tensor", i, c.Node.Inputs[i])
	}
	return v, nil
}

// positionInput checks the optional position input i: an int32 or int64 scalar.
func positionInput(c *InferContext, i int) error {
	v := c.Input(i)
	if v == nil {
		return nil
	}
	if v.Seq || (v.DType != Int32 && v.DType != Int64 && v.DType != Undefined) {
		return c.Errorf("position (input %d) must be an int32 or int64 scalar, got %s", i, v)
	}
	if v.HasShape {
		if s, ok := v.Shape.Concrete(); !ok || NumElements(s) != 1 {
			if len(v.Shape) > 1 || (ok && NumElements(s) != 1) {
				return c.Errorf("position (input %d) must be a scalar, got shape %s", i, v.Shape)
			}
		}
	}
	return nil
}

// seqOf is a sequence of elements like v (dtype and shape).
func seqOf(v *Value) *Value {
	out := &Value{DType: v.DType, Seq: true}
	if v.HasShape {
		out.HasShape, out.Shape = true, append(Shape{}, v.Shape...)
	}
	return out
}

// mergeElem merges an element's type into a sequence's element type (an empty
// sequence's constrains nothing).
func mergeElem(c *InferContext, s *Value, t *Value) (*Value, error) {
	if s.SeqEmpty {
		out := seqOf(t)
		if out.DType == Undefined {
			out.DType = s.DType
		}
		if s.DType != Undefined && t.DType != Undefined && s.DType != t.DType {
			return nil, c.Errorf("element of %s into a sequence of %s", t.DType, s.DType)
		}
		return out, nil
	}
	if s.DType != Undefined && t.DType != Undefined && s.DType != t.DType {
		return nil, c.Errorf("inserts a %s tensor into a sequence of %s", t.DType, s.DType)
	}
	m, err := mergeValue(&Value{DType: s.DType, Shape: s.Shape, HasShape: s.HasShape}, t)
	if err != nil {
		return nil, c.Errorf("elements: %v", err)
	}
	out := seqOf(m)
	return out, nil
}

func inferSequenceEmpty(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 0, 0); err != nil {
		return nil, nil, err
	}
	dt := DType(c.Node.AttrInt("dtype", int64(Float32)))
	if dt == Undefined || dt.String() == "" {
		return nil, nil, c.Errorf("dtype %d is not a tensor element type", int(dt))
	}
	return []*Value{{DType: dt, Seq: true, SeqEmpty: true}}, nil, nil
}

func inferSequenceConstruct(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, -1); err != nil {
		return nil, nil, err
	}
	var acc *Value
	for i := range c.Node.Inputs {
		v, err := tensorInput(c, i)
		if err != nil {
			return nil, nil, err
		}
		if acc == nil {
			acc = &Value{DType: v.DType, Shape: v.Shape, HasShape: v.HasShape}
			continue
		}
		if acc, err = mergeValue(acc, v); err != nil {
			return nil, nil, c.Errorf("input %d: %v", i, err)
		}
	}
	return []*Value{seqOf(acc)}, nil, nil
}

func inferSequenceInsert(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 3); err != nil {
		return nil, nil, err
	}
	s, err := seqInput(c, 0)
	if err != nil {
		return nil, nil, err
	}
	t, err := tensorInput(c, 1)
	if err != nil {
		return nil, nil, err
	}
	if err := positionInput(c, 2); err != nil {
		return nil, nil, err
	}
	out, err := mergeElem(c, s, t)
	if err != nil {
		return nil, nil, err
	}
	return []*Value{out}, nil, nil
}

func inferSequenceErase(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 2); err != nil {
		return nil, nil, err
	}
	s, err := seqInput(c, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := positionInput(c, 1); err != nil {
		return nil, nil, err
	}
	out := *s
	out.SeqEmpty = false
	return []*Value{&out}, nil, nil
}

func inferSequenceAt(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	s, err := seqInput(c, 0)
	if err != nil {
		return nil, nil, err
	}
	if c.Input(1) == nil {
		return nil, nil, c.Errorf("the position (input 1) is missing")
	}
	if err := positionInput(c, 1); err != nil {
		return nil, nil, err
	}
	if s.SeqEmpty {
		return nil, nil, c.Errorf("reads an element of a sequence that is always empty")
	}
	return []*Value{valueOf(s.DType, s.Shape, s.HasShape)}, nil, nil
}

func inferSequenceLength(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	s, err := seqInput(c, 0)
	if err != nil {
		return nil, nil, err
	}
	var consts []*Tensor
	if s.SeqEmpty {
		consts = []*Tensor{FromInt64(nil, []int64{0})}
	}
	return []*Value{{DType: Int64, HasShape: true, Shape: Shape{}}}, consts, nil
}

// SeqSplitSizes gives SplitToSequence's chunk sizes along an axis of size dim: split
// nil (chunks of 1), a scalar (chunks of split, the last shorter) or a list
// (which must add up to dim). The error says what is wrong, without the node.
func SeqSplitSizes(dim int, split *Tensor) ([]int, error) {
	if split == nil {
		out := make([]int, dim)
		for i := range out {
			out[i] = 1
		}
		return out, nil
	}
	v, err := split.AsInt64()
	if err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	if len(split.Shape) == 0 {
		if len(v) != 1 || v[0] <= 0 {
			return nil, fmt.Errorf("a scalar split must be positive, got %v", v)
		}
		var out []int
		for at := 0; at < dim; at += int(v[0]) {
			out = append(out, min(int(v[0]), dim-at))
		}
		return out, nil
	}
	if len(split.Shape) != 1 {
		return nil, fmt.Errorf("split must be a scalar or 1-D, got shape %v", split.Shape)
	}
	out := make([]int, len(v))
	sum := 0
	for i, x := range v {
		if x < 0 {
			return nil, fmt.Errorf("split[%d] is negative (%d)", i, x)
		}
		out[i] = int(x)
		sum += int(x)
	}
	if sum != dim {
		return nil, fmt.Errorf("split sizes %v add up to %d, the axis has %d", v, sum, dim)
	}
	return out, nil
}

func inferSplitToSequence(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 2); err != nil {
		return nil, nil, err
	}
	x, err := tensorInput(c, 0)
	if err != nil {
		return nil, nil, err
	}
	split := c.Input(1)
	if split != nil {
		if split.Seq || (split.DType != Int32 && split.DType != Int64 && split.DType != Undefined) {
			return nil, nil, c.Errorf("split must be an int32 or int64 tensor, got %s", split)
		}
		if split.HasShape && len(split.Shape) > 1 {
			return nil, nil, c.Errorf("split must be a scalar or 1-D, got shape %s", split.Shape)
		}
	}
	if !x.HasShape {
		return []*Value{{DType: x.DType, Seq: true}}, nil, nil
	}
	r := len(x.Shape)
	axis := int(c.Node.AttrInt("axis", 0))
	if axis < -r || axis >= r {
		return nil, nil, c.Errorf("axis %d is out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	keep := c.Node.AttrInt("keepdims", 1) != 0
	elem := append(Shape{}, x.Shape...)
	dim := x.Shape[axis]
	sc := c.Const(1)
	if split != nil && !keep && (!split.HasShape || len(split.Shape) == 0) {
		// keepdims=0 with a scalar split of 1 drops the axis, as without a
		// split (torch's unbind; ONNX Runtime reads it so, seq_split.go).
		if sc == nil {
			return []*Value{{DType: x.DType, Seq: true}}, nil, nil
		}
		if v, err := sc.AsInt64(); err == nil && len(v) == 1 && v[0] == 1 && len(sc.Shape) == 0 {
			split = nil
		}
	}
	switch {
	case split == nil:
		if !keep {
			elem = append(elem[:axis], elem[axis+1:]...)
		} else {
			elem[axis] = Dim{Size: 1}
		}
	case sc != nil:
		if dim.Known() {
			sizes, err := SeqSplitSizes(dim.Size, sc)
			if err != nil {
				return nil, nil, c.Errorf("%v", err)
			}
			elem[axis] = Dim{Size: -1}
			if len(sizes) > 0 && allEqual(sizes) {
				elem[axis] = Dim{Size: sizes[0]}
			}
		} else {
			v, err := sc.AsInt64()
			elem[axis] = Dim{Size: -1}
			if err == nil && len(v) > 0 && len(sc.Shape) == 1 && allEqual(Int64sToInts(v)) {
				elem[axis] = Dim{Size: int(v[0])}
			}
		}
	default:
		elem[axis] = Dim{Size: -1}
	}
	return []*Value{{DType: x.DType, Seq: true, Shape: elem, HasShape: true}}, nil, nil
}

func allEqual(v []int) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}

func inferConcatFromSequence(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	s, err := seqInput(c, 0)
	if err != nil {
		return nil, nil, err
	}
	if !c.Node.HasAttr("axis") {
		return nil, nil, c.Errorf("attribute 'axis' is required")
	}
	newAxis := c.Node.AttrInt("new_axis", 0)
	if newAxis != 0 && newAxis != 1 {
		return nil, nil, c.Errorf("new_axis must be 0 or 1, got %d", newAxis)
	}
	axis := int(c.Node.AttrInt("axis", 0))
	if !s.HasShape {
		if s.SeqEmpty {
			return nil, nil, c.Errorf("concatenates a sequence that is always empty")
		}
		if axis < 0 {
			return nil, nil, c.Errorf("axis %d is negative and the elements' rank is unknown", axis)
		}
		return []*Value{{DType: s.DType}}, nil, nil
	}
	r := len(s.Shape) + int(newAxis)
	if axis < -r || axis >= r {
		return nil, nil, c.Errorf("axis %d is out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	out := append(Shape{}, s.Shape...)
	if newAxis == 1 {
		out = append(out[:axis], append(Shape{{Size: -1}}, out[axis:]...)...)
	} else {
		if len(s.Shape) == 0 {
			return nil, nil, c.Errorf("concatenates scalars without new_axis")
		}
		out[axis] = Dim{Size: -1}
	}
	return []*Value{{DType: s.DType, Shape: out, HasShape: true}}, nil, nil
}
