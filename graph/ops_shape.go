package graph

import (
	"fmt"
	"math"
)

// This file holds the shape-inference schemas of the operators that move or index data:
// Constant, Shape, Size, Flatten, Reshape, Transpose, Concat, Split, Slice, Squeeze,
// Unsqueeze, Gather, GatherElements, GatherND, Scatter*, ConstantOfShape, Expand, Range,
// Tile, Trilu, ArgMax/ArgMin, TopK, Hardmax, CumSum, NonZero, OneHot, EyeLike, Compress,
// DepthToSpace and SpaceToDepth. Where an output shape
// depends on the value of an input (a Reshape target, Slice bounds, ...), the schema
// uses the input's constant value when it is known and otherwise keeps the rank and
// leaves the affected dimensions unknown.

// unknownDims makes a shape of rank r with every dimension unknown.
func unknownDims(r int) Shape {
	s := make(Shape, r)
	for i := range s {
		s[i] = Dim{Size: -1}
	}
	return s
}

// constInts returns the value of constant input i as int64s, or nil when unknown.
func constInts(c *InferContext, i int) ([]int64, error) {
	t := c.Const(i)
	if t == nil {
		return nil, nil
	}
	v, err := t.AsInt64()
	if err != nil {
		return nil, c.Errorf("input %d (%q): %v", i, c.Node.Input(i), err)
	}
	return v, nil
}

// intsArgument reads an ints operand that is an attribute before opset `since` and an
// optional input (index i) from it on. known is false when the input is present but not
// constant.
func intsArgument(c *InferContext, attr string, since int64, i int) (v []int64, present, known bool, err error) {
	if c.Opset < since {
		if !c.Node.HasAttr(attr) {
			return nil, false, true, nil
		}
		return c.Node.AttrInts(attr, nil), true, true, nil
	}
	if c.Node.Input(i) == "" {
		return nil, false, true, nil
	}
	v, err = constInts(c, i)
	if err != nil {
		return nil, true, false, err
	}
	return v, true, v != nil, nil
}

// mulDims multiplies dimensions. The product is unknown if any factor is, except that
// a single unknown factor times known 1s stays itself, so Flatten keeps a symbolic batch.
func mulDims(ds ...Dim) Dim {
	n := 1
	var unknown []Dim
	for _, d := range ds {
		if !d.Known() {
			unknown = append(unknown, d)
			continue
		}
		n *= d.Size
	}
	switch {
	case len(unknown) == 0:
		return Dim{Size: n}
	case len(unknown) == 1 && n == 1:
		return unknown[0]
	}
	return Dim{Size: -1}
}

func inferConstant(c *InferContext) ([]*Value, []*Tensor, error) {
	if len(c.Node.Inputs) != 0 {
		return nil, nil, c.Errorf("Constant takes no inputs, has %d", len(c.Node.Inputs))
	}
	t, err := ConstantValue(c.Node)
	if err != nil {
		return nil, nil, err
	}
	return []*Value{{DType: t.DType, Shape: ShapeOf(t.Shape...), HasShape: true}}, []*Tensor{t}, nil
}

// ConstantValue returns the tensor a Constant node produces, from whichever of its
// value attributes is set (exactly one must be).
func ConstantValue(n *Node) (*Tensor, error) {
	var out *Tensor
	count := 0
	for name, a := range n.Attrs {
		count++
		switch name {
		case "value":
			if a.T == nil {
				return nil, errorf(n, "attribute value is not a tensor")
			}
			out = a.T
		case "value_float":
			out = ScalarFloat32(a.F)
		case "value_floats":
			out = FromFloat32([]int{len(a.Floats)}, append([]float32{}, a.Floats...))
		case "value_int":
			out = FromInt64(nil, []int64{a.I})
		case "value_ints":
			out = FromInt64([]int{len(a.Ints)}, append([]int64{}, a.Ints...))
		case "value_string":
			out = &Tensor{DType: String, Data: []string{a.S}}
		case "value_strings":
			out = &Tensor{DType: String, Shape: []int{len(a.Strings)}, Data: append([]string{}, a.Strings...)}
		case "sparse_value":
			return nil, errorf(n, "%w sparse_value attribute", ErrUnsupported)
		default:
			return nil, errorf(n, "%w attribute %q", ErrUnsupported, name)
		}
	}
	if count != 1 || out == nil {
		return nil, errorf(n, "needs exactly one value attribute, has %d", count)
	}
	return out, nil
}

// errorf formats an error naming the node; unlike InferContext.Errorf it wraps %w
// operands (ErrUnsupported).
func errorf(n *Node, format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{n.Label()}, args...)...)
}

func inferShapeOp(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return []*Value{{DType: Int64, Shape: unknownDims(1), HasShape: true}}, nil, nil
	}
	lo, hi := ShapeRange(len(in.Shape), c.Node.AttrInt("start", 0), c.Node.AttrInt("end", math.MaxInt64), c.Node.HasAttr("end"))
	out := &Value{DType: Int64, Shape: ShapeOf(hi - lo), HasShape: true}
	dims, ok := in.Shape[lo:hi].Concrete()
	if !ok {
		return []*Value{out}, nil, nil
	}
	v := make([]int64, len(dims))
	for i, d := range dims {
		v[i] = int64(d)
	}
	return []*Value{out}, []*Tensor{FromInt64([]int{len(v)}, v)}, nil
}

// ShapeRange resolves the start/end attributes of Shape (opset 15) for a rank: negative
// values count from the end and both are clamped to [0, rank].
func ShapeRange(rank int, start, end int64, hasEnd bool) (int, int) {
	clamp := func(v int64) int {
		if v < 0 {
			v += int64(rank)
		}
		return int(max(0, min(v, int64(rank))))
	}
	lo := clamp(start)
	hi := rank
	if hasEnd {
		hi = clamp(end)
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

func inferSize(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	out := &Value{DType: Int64, Shape: Shape{}, HasShape: true}
	if in := c.Input(0); in.HasShape {
		if dims, ok := in.Shape.Concrete(); ok {
			return []*Value{out}, []*Tensor{FromInt64(nil, []int64{int64(NumElements(dims))})}, nil
		}
	}
	return []*Value{out}, nil, nil
}

func inferFlatten(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return finish(c, &Value{DType: in.DType, Shape: unknownDims(2), HasShape: true})
	}
	r := len(in.Shape)
	axis := c.Node.AttrInt("axis", 1)
	if axis < -int64(r) || axis > int64(r) {
		return nil, nil, c.Errorf("axis %d is out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	return finish(c, &Value{DType: in.DType, Shape: Shape{mulDims(in.Shape[:axis]...), mulDims(in.Shape[axis:]...)}, HasShape: true})
}

// maxDim bounds single dimensions read from data, so that products of dimensions
// cannot overflow.
const maxDim = 1 << 40

// ReshapeTarget resolves a Reshape shape operand against a concrete input shape: 0
// copies the input dimension (unless allowzero), -1 takes the remaining size.
func ReshapeTarget(in []int, target []int64, allowZero bool) ([]int, error) {
	out := make([]int, len(target))
	infer := -1
	known := 1
	for i, v := range target {
		switch {
		case v == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", target)
			}
			infer = i
			continue
		case v == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d (0) but the input %v has rank %d", target, i, in, len(in))
			}
			out[i] = in[i]
		case v < 0:
			return nil, fmt.Errorf("shape %v has invalid dimension %d", target, v)
		default:
			if v > maxDim {
				return nil, fmt.Errorf("shape %v has an oversized dimension %d", target, v)
			}
			out[i] = int(v)
		}
		known *= out[i]
	}
	total := NumElements(in)
	if infer >= 0 {
		if allowZero && known == 0 {
			return nil, fmt.Errorf("shape %v combines -1 with a 0 dimension (allowzero)", target)
		}
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v: %d elements do not divide into %d", in, target, total, known)
		}
		out[infer] = total / known
		known *= out[infer]
	}
	if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v (%d elements)", in, total, out, known)
	}
	return out, nil
}

func inferReshape(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	allowZero := c.Node.AttrInt("allowzero", 0) != 0
	target, err := constInts(c, 1)
	if err != nil {
		return nil, nil, err
	}
	if target == nil {
		if s := c.Input(1); s.HasShape && len(s.Shape) == 1 && s.Shape[0].Known() {
			return finish(c, &Value{DType: in.DType, Shape: unknownDims(s.Shape[0].Size), HasShape: true})
		}
		return finish(c, &Value{DType: in.DType})
	}
	if in.HasShape {
		if dims, ok := in.Shape.Concrete(); ok {
			out, err := ReshapeTarget(dims, target, allowZero)
			if err != nil {
				return nil, nil, c.Errorf("%v", err)
			}
			return finish(c, &Value{DType: in.DType, Shape: ShapeOf(out...), HasShape: true})
		}
	}
	// Partially known input: resolve what we can (0 copies a possibly symbolic dim,
	// and -1 is computable when every other dimension and the input are known).
	out := make(Shape, len(target))
	for i, v := range target {
		switch {
		case v == 0 && !allowZero:
			if in.HasShape && i < len(in.Shape) {
				out[i] = in.Shape[i]
			} else {
				out[i] = Dim{Size: -1}
			}
		case v < 0:
			out[i] = Dim{Size: -1}
		default:
			out[i] = Dim{Size: int(v)}
		}
	}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

// TransposePerm returns the node's perm for a rank (reversed axes by default), checked
// to be a permutation.
func TransposePerm(n *Node, rank int) ([]int, error) {
	p := n.AttrInts("perm", nil)
	if p == nil {
		out := make([]int, rank)
		for i := range out {
			out[i] = rank - 1 - i
		}
		return out, nil
	}
	if len(p) != rank {
		return nil, errorf(n, "perm %v has %d entries, input has rank %d", p, len(p), rank)
	}
	out, err := NormalizeAxes(p, rank)
	if err != nil {
		return nil, errorf(n, "perm: %v", err)
	}
	return out, nil
}

func inferTranspose(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		if p := c.Node.AttrInts("perm", nil); p != nil {
			return finish(c, &Value{DType: in.DType, Shape: unknownDims(len(p)), HasShape: true})
		}
		return finish(c, &Value{DType: in.DType})
	}
	perm, err := TransposePerm(c.Node, len(in.Shape))
	if err != nil {
		return nil, nil, err
	}
	out := make(Shape, len(perm))
	for i, p := range perm {
		out[i] = in.Shape[p]
	}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

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

func inferSplit(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := noLegacyAttrs(c, 13, "split"); err != nil {
		return nil, nil, err
	}
	maxIn := 2
	if c.Opset < 13 {
		maxIn = 1
	}
	if err := requireInputs(c, 1, maxIn); err != nil {
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
		if sizes, err = SplitSizes(in.Shape[axis].Size, split, n); err != nil {
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

func inferSqueeze(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := noLegacyAttrs(c, 13, "axes"); err != nil {
		return nil, nil, err
	}
	maxIn := 2
	if c.Opset < 13 {
		maxIn = 1
	}
	if err := requireInputs(c, 1, maxIn); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	axes, present, known, err := intsArgument(c, "axes", 13, 1)
	if err != nil {
		return nil, nil, err
	}
	if !in.HasShape || !known {
		if in.HasShape && present && c.Input(1) != nil && c.Input(1).HasShape && len(c.Input(1).Shape) == 1 && c.Input(1).Shape[0].Known() {
			return finish(c, &Value{DType: in.DType, Shape: unknownDims(len(in.Shape) - c.Input(1).Shape[0].Size), HasShape: true})
		}
		return finish(c, &Value{DType: in.DType})
	}
	r := len(in.Shape)
	drop := make([]bool, r)
	if present {
		ax, err := NormalizeAxes(axes, r)
		if err != nil {
			return nil, nil, c.Errorf("axes: %v", err)
		}
		for _, a := range ax {
			if in.Shape[a].Known() && in.Shape[a].Size != 1 {
				return nil, nil, c.Errorf("cannot squeeze axis %d of shape %s: its size is not 1", a, in.Shape)
			}
			drop[a] = true
		}
	} else {
		for i, d := range in.Shape {
			if !d.Known() {
				// Whether it is squeezed depends on its run-time size.
				return finish(c, &Value{DType: in.DType})
			}
			drop[i] = d.Size == 1
		}
	}
	out := Shape{}
	for i, d := range in.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

// UnsqueezeShape inserts 1s at the given axes (normalized against the output rank).
func UnsqueezeShape(in Shape, axes []int64) (Shape, error) {
	r := len(in) + len(axes)
	ax, err := NormalizeAxes(axes, r)
	if err != nil {
		return nil, err
	}
	ins := make([]bool, r)
	for _, a := range ax {
		ins[a] = true
	}
	out := make(Shape, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, Dim{Size: 1})
		} else {
			out = append(out, in[j])
			j++
		}
	}
	return out, nil
}

func inferUnsqueeze(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := noLegacyAttrs(c, 13, "axes"); err != nil {
		return nil, nil, err
	}
	maxIn, req := 2, 2
	if c.Opset < 13 {
		maxIn, req = 1, 1
	}
	if err := requireInputs(c, req, maxIn); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	axes, present, known, err := intsArgument(c, "axes", 13, 1)
	if err != nil {
		return nil, nil, err
	}
	if known && !present {
		return nil, nil, c.Errorf("axes are required")
	}
	if !in.HasShape || !known {
		return finish(c, &Value{DType: in.DType})
	}
	out, err := UnsqueezeShape(in.Shape, axes)
	if err != nil {
		return nil, nil, c.Errorf("axes: %v", err)
	}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

func inferGather(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, typeSet{Int32, Int64}); err != nil {
		return nil, nil, err
	}
	data, idx := c.Input(0), c.Input(1)
	if !data.HasShape || !idx.HasShape {
		return finish(c, &Value{DType: data.DType})
	}
	axis, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(data.Shape))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	out := append(Shape{}, data.Shape[:axis]...)
	out = append(out, idx.Shape...)
	out = append(out, data.Shape[axis+1:]...)
	return finish(c, &Value{DType: data.DType, Shape: out, HasShape: true})
}

func inferGatherElements(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, typeSet{Int32, Int64}); err != nil {
		return nil, nil, err
	}
	data, idx := c.Input(0), c.Input(1)
	if data.HasShape && idx.HasShape {
		if len(data.Shape) != len(idx.Shape) {
			return nil, nil, c.Errorf("data has rank %d, indices rank %d; they must match", len(data.Shape), len(idx.Shape))
		}
		if _, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(data.Shape)); err != nil {
			return nil, nil, c.Errorf("%v", err)
		}
	}
	return finish(c, valueOf(data.DType, idx.Shape, idx.HasShape))
}

func inferConstantOfShape(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	dt := Float32
	if v := c.Node.AttrTensor("value"); v != nil {
		if v.Len() != 1 {
			return nil, nil, c.Errorf("attribute value must have one element, has shape %v", v.Shape)
		}
		dt = v.DType
	}
	shape, err := constInts(c, 0)
	if err != nil {
		return nil, nil, err
	}
	if shape == nil {
		if s := c.Input(0); s.HasShape && len(s.Shape) == 1 && s.Shape[0].Known() {
			return finish(c, &Value{DType: dt, Shape: unknownDims(s.Shape[0].Size), HasShape: true})
		}
		return finish(c, &Value{DType: dt})
	}
	for _, d := range shape {
		if d < 0 {
			return nil, nil, c.Errorf("shape %v has a negative dimension", shape)
		}
	}
	return finish(c, &Value{DType: dt, Shape: ShapeOf(Int64sToInts(shape)...), HasShape: true})
}

func inferExpand(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	shape, err := constInts(c, 1)
	if err != nil {
		return nil, nil, err
	}
	if shape == nil || !in.HasShape {
		if s := c.Input(1); in.HasShape && s.HasShape && len(s.Shape) == 1 && s.Shape[0].Known() {
			return finish(c, &Value{DType: in.DType, Shape: unknownDims(max(len(in.Shape), s.Shape[0].Size)), HasShape: true})
		}
		return finish(c, &Value{DType: in.DType})
	}
	for _, d := range shape {
		if d < 0 {
			return nil, nil, c.Errorf("shape %v has a negative dimension", shape)
		}
	}
	out, err := BroadcastShapes(in.Shape, ShapeOf(Int64sToInts(shape)...))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

func inferRange(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 3, 3); err != nil {
		return nil, nil, err
	}
	for i := 0; i < 3; i++ {
		if err := checkInputType(c, i, typeSet{Float32, Float64, Int16, Int32, Int64}); err != nil {
			return nil, nil, err
		}
	}
	dt, err := sameInputTypes(c, 0, 1, 2)
	if err != nil {
		return nil, nil, err
	}
	out := &Value{DType: dt, Shape: unknownDims(1), HasShape: true}
	// With constant operands the length is known here, before anything is computed, so
	// that FoldConstants never materializes a huge range.
	var v [3]float64
	for i := range v {
		t := c.Const(i)
		if t == nil {
			return finish(c, out)
		}
		f, err := t.AsFloat64()
		if err != nil || len(f) != 1 {
			return nil, nil, c.Errorf("input %d (%q) must be a numeric scalar", i, c.Node.Input(i))
		}
		v[i] = f[0]
	}
	if v[2] == 0 {
		return nil, nil, c.Errorf("delta must not be 0")
	}
	n := math.Ceil((v[1] - v[0]) / v[2])
	if !(n > 0) {
		n = 0
	}
	if n > maxDim {
		return nil, nil, c.Errorf("range of %g elements is too large", n)
	}
	out.Shape = ShapeOf(int(n))
	return finish(c, out)
}

func inferTile(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	reps, err := constInts(c, 1)
	if err != nil {
		return nil, nil, err
	}
	if !in.HasShape {
		return finish(c, &Value{DType: in.DType})
	}
	if reps == nil {
		return finish(c, &Value{DType: in.DType, Shape: unknownDims(len(in.Shape)), HasShape: true})
	}
	if len(reps) != len(in.Shape) {
		return nil, nil, c.Errorf("repeats %v has %d entries, input has rank %d", reps, len(reps), len(in.Shape))
	}
	out := make(Shape, len(reps))
	for i, r := range reps {
		if r < 0 {
			return nil, nil, c.Errorf("repeats %v has a negative entry", reps)
		}
		out[i] = mulDims(in.Shape[i], Dim{Size: int(r)})
	}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

func inferTrilu(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 2); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if in.HasShape && len(in.Shape) < 2 {
		return nil, nil, c.Errorf("input must have rank >= 2, has shape %s", in.Shape)
	}
	return finish(c, valueOf(in.DType, in.Shape, in.HasShape))
}

func inferArgMinMax(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, numericTypes); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return finish(c, &Value{DType: Int64})
	}
	axis, err := NormalizeAxis(c.Node.AttrInt("axis", 0), len(in.Shape))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	out := Shape{}
	for i, d := range in.Shape {
		if i == axis {
			if c.Node.AttrInt("keepdims", 1) != 0 {
				out = append(out, Dim{Size: 1})
			}
			continue
		}
		out = append(out, d)
	}
	return finish(c, &Value{DType: Int64, Shape: out, HasShape: true})
}

func inferTopK(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := noLegacyAttrs(c, 10, "k"); err != nil {
		return nil, nil, err
	}
	if c.Opset < 10 {
		if err := requireInputs(c, 1, 1); err != nil {
			return nil, nil, err
		}
	} else if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := requireOutputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 0, numericTypes); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return finish(c, &Value{DType: in.DType}, &Value{DType: Int64})
	}
	axis, err := NormalizeAxis(c.Node.AttrInt("axis", -1), len(in.Shape))
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	k := Dim{Size: -1}
	if c.Opset < 10 {
		k = Dim{Size: int(c.Node.AttrInt("k", -1))}
	} else if v, err := constInts(c, 1); err != nil {
		return nil, nil, err
	} else if v != nil {
		if len(v) != 1 {
			return nil, nil, c.Errorf("K must have one element, has %d", len(v))
		}
		k = Dim{Size: int(v[0])}
	}
	if k.Known() && in.Shape[axis].Known() && (k.Size < 0 || k.Size > in.Shape[axis].Size) {
		return nil, nil, c.Errorf("K = %d is out of range for axis %d of shape %s", k.Size, axis, in.Shape)
	}
	if k.Size < 0 {
		k = Dim{Size: -1}
	}
	out := append(Shape{}, in.Shape...)
	out[axis] = k
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true}, &Value{DType: Int64, Shape: append(Shape{}, out...), HasShape: true})
}

func inferSpaceDepth(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	b := c.Node.AttrInt("blocksize", 0)
	if b <= 0 {
		return nil, nil, c.Errorf("attribute blocksize must be positive, is %d", b)
	}
	if c.Node.OpType == "DepthToSpace" {
		if m := c.Node.AttrString("mode", "DCR"); m != "DCR" && m != "CRD" {
			return nil, nil, c.Errorf("mode must be DCR or CRD, is %q", m)
		}
	}
	if !in.HasShape {
		return finish(c, &Value{DType: in.DType, Shape: unknownDims(4), HasShape: true})
	}
	if len(in.Shape) != 4 {
		return nil, nil, c.Errorf("input must be 4-D (NCHW), has shape %s", in.Shape)
	}
	bs := int(b)
	out := append(Shape{}, in.Shape...)
	scale := func(d Dim, mul bool) (Dim, error) {
		if !d.Known() {
			return d, nil
		}
		if mul {
			return Dim{Size: d.Size * bs}, nil
		}
		if d.Size%bs != 0 {
			return d, c.Errorf("dimension %d of shape %s is not divisible by blocksize %d", d.Size, in.Shape, bs)
		}
		return Dim{Size: d.Size / bs}, nil
	}
	var err error
	if c.Node.OpType == "DepthToSpace" {
		if out[1].Known() {
			if out[1].Size%(bs*bs) != 0 {
				return nil, nil, c.Errorf("channels %d are not divisible by blocksize^2 = %d", out[1].Size, bs*bs)
			}
			out[1] = Dim{Size: out[1].Size / (bs * bs)}
		}
		if out[2], err = scale(out[2], true); err != nil {
			return nil, nil, err
		}
		out[3], _ = scale(out[3], true)
	} else {
		out[1] = mulDims(out[1], Dim{Size: bs * bs})
		if out[2], err = scale(out[2], false); err != nil {
			return nil, nil, err
		}
		if out[3], err = scale(out[3], false); err != nil {
			return nil, nil, err
		}
	}
	return finish(c, &Value{DType: in.DType, Shape: out, HasShape: true})
}

// sameAsInput is the inference of operators whose output has input 0's type and
// shape (CumSum, Scatter*, Hardmax), after checking input counts and input 0's type.
func sameAsInput(minIn, maxIn int, types typeSet) InferFunc {
	return func(c *InferContext) ([]*Value, []*Tensor, error) {
		if err := requireInputs(c, minIn, maxIn); err != nil {
			return nil, nil, err
		}
		if err := checkInputType(c, 0, types); err != nil {
			return nil, nil, err
		}
		in := c.Input(0)
		return finish(c, valueOf(in.DType, in.Shape, in.HasShape))
	}
}

func inferCumSum(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := checkInputType(c, 1, typeSet{Int32, Int64}); err != nil {
		return nil, nil, err
	}
	if v := c.Input(1); v != nil && v.HasShape && len(v.Shape) > 1 {
		return nil, nil, c.Errorf("axis must be a scalar, has shape %s", v.Shape)
	}
	return sameAsInput(2, 2, typeSet{Float32, Float64, Float16, BFloat16, Int32, Int64, Uint32, Uint64})(c)
}

func inferScatter(c *InferContext) ([]*Value, []*Tensor, error) {
	if r := c.Node.AttrString("reduction", "none"); r != "none" && r != "add" && r != "mul" {
		return nil, nil, errorf(c.Node, "%w reduction %q", ErrUnsupported, r)
	}
	if err := checkInputType(c, 1, typeSet{Int32, Int64}); err != nil {
		return nil, nil, err
	}
	if _, err := sameInputTypes(c, 0, 2); err != nil {
		return nil, nil, err
	}
	data, idx := c.Input(0), c.Input(1)
	if data != nil && idx != nil && data.HasShape && idx.HasShape && c.Node.OpType != "ScatterND" && len(data.Shape) != len(idx.Shape) {
		return nil, nil, c.Errorf("data has rank %d, indices rank %d; they must match", len(data.Shape), len(idx.Shape))
	}
	return sameAsInput(3, 3, anyTypes)(c)
}

func inferNonZero(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if !in.HasShape {
		return finish(c, &Value{DType: Int64, Shape: unknownDims(2), HasShape: true})
	}
	return finish(c, &Value{DType: Int64, Shape: Shape{{Size: len(in.Shape)}, {Size: -1}}, HasShape: true})
}

func inferOneHot(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 3, 3); err != nil {
		return nil, nil, err
	}
	for i := 0; i < 2; i++ {
		if err := checkInputType(c, i, numericTypes); err != nil {
			return nil, nil, err
		}
	}
	idx, vals := c.Input(0), c.Input(2)
	if vals.HasShape {
		if n, ok := vals.Shape.Concrete(); ok && NumElements(n) != 2 {
			return nil, nil, c.Errorf("values must have two elements [off, on], has shape %s", vals.Shape)
		}
	}
	if !idx.HasShape {
		return finish(c, &Value{DType: vals.DType})
	}
	r := len(idx.Shape) + 1
	axis := c.Node.AttrInt("axis", -1)
	a, err := NormalizeAxis(axis, r)
	if err != nil {
		return nil, nil, c.Errorf("%v", err)
	}
	depth := Dim{Size: -1}
	if t := c.Const(1); t != nil {
		f, err := t.AsFloat64()
		if err != nil || len(f) != 1 {
			return nil, nil, c.Errorf("depth must be a numeric scalar")
		}
		if f[0] < 1 {
			return nil, nil, c.Errorf("depth must be positive, is %g", f[0])
		}
		depth = Dim{Size: int(f[0])}
	}
	out := append(Shape{}, idx.Shape[:a]...)
	out = append(out, depth)
	out = append(out, idx.Shape[a:]...)
	return finish(c, &Value{DType: vals.DType, Shape: out, HasShape: true})
}

func inferGatherND(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 2, 2); err != nil {
		return nil, nil, err
	}
	if err := checkInputType(c, 1, typeSet{Int64}); err != nil {
		return nil, nil, err
	}
	data, idx := c.Input(0), c.Input(1)
	b := int(c.Node.AttrInt("batch_dims", 0))
	if !data.HasShape || !idx.HasShape || len(idx.Shape) == 0 || !idx.Shape[len(idx.Shape)-1].Known() {
		return finish(c, &Value{DType: data.DType})
	}
	k := idx.Shape[len(idx.Shape)-1].Size
	if b < 0 || b >= len(idx.Shape) || b+k > len(data.Shape) {
		return nil, nil, c.Errorf("indices of shape %s with batch_dims %d do not fit data of shape %s", idx.Shape, b, data.Shape)
	}
	out := append(Shape{}, idx.Shape[:len(idx.Shape)-1]...)
	out = append(out, data.Shape[b+k:]...)
	return finish(c, &Value{DType: data.DType, Shape: out, HasShape: true})
}

func inferEyeLike(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := requireInputs(c, 1, 1); err != nil {
		return nil, nil, err
	}
	in := c.Input(0)
	if in.HasShape && len(in.Shape) != 2 {
		return nil, nil, c.Errorf("input must be 2-D, has shape %s", in.Shape)
	}
	dt := in.DType
	if c.Node.HasAttr("dtype") {
		dt = DType(c.Node.AttrInt("dtype", 0))
		if !castTypes.has(dt) || dt == Undefined {
			return nil, nil, errorf(c.Node, "%w dtype %s", ErrUnsupported, dt)
		}
	}
	return finish(c, valueOf(dt, in.Shape, in.HasShape))
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
	RegisterOp(OpSchema{OpType: "Constant", SinceOpset: 1, Attrs: []string{"value", "sparse_value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings"}, Infer: inferConstant})
	RegisterOp(OpSchema{OpType: "Shape", SinceOpset: 1, Attrs: []string{"start", "end"}, Infer: inferShapeOp})
	RegisterOp(OpSchema{OpType: "Size", SinceOpset: 1, Attrs: []string{}, Infer: inferSize})
	RegisterOp(OpSchema{OpType: "Flatten", SinceOpset: 1, Attrs: []string{"axis"}, Infer: inferFlatten})
	RegisterOp(OpSchema{OpType: "Reshape", SinceOpset: 5, Attrs: []string{"allowzero"}, Infer: inferReshape})
	RegisterOp(OpSchema{OpType: "Transpose", SinceOpset: 1, Attrs: []string{"perm"}, Infer: inferTranspose})
	RegisterOp(OpSchema{OpType: "Concat", SinceOpset: 4, Attrs: []string{"axis"}, Infer: inferConcat})
	RegisterOp(OpSchema{OpType: "Split", SinceOpset: 2, Attrs: []string{"axis", "split"}, Infer: inferSplit})
	RegisterOp(OpSchema{OpType: "Slice", SinceOpset: 1, Attrs: []string{"starts", "ends", "axes"}, Infer: inferSlice})
	RegisterOp(OpSchema{OpType: "Squeeze", SinceOpset: 1, Attrs: []string{"axes"}, Infer: inferSqueeze})
	RegisterOp(OpSchema{OpType: "Unsqueeze", SinceOpset: 1, Attrs: []string{"axes"}, Infer: inferUnsqueeze})
	RegisterOp(OpSchema{OpType: "Gather", SinceOpset: 1, Attrs: []string{"axis"}, Infer: inferGather})
	RegisterOp(OpSchema{OpType: "GatherElements", SinceOpset: 11, Attrs: []string{"axis"}, Infer: inferGatherElements})
	RegisterOp(OpSchema{OpType: "ConstantOfShape", SinceOpset: 9, Attrs: []string{"value"}, Infer: inferConstantOfShape})
	RegisterOp(OpSchema{OpType: "Expand", SinceOpset: 8, Attrs: []string{}, Infer: inferExpand})
	RegisterOp(OpSchema{OpType: "Range", SinceOpset: 11, Attrs: []string{}, Infer: inferRange})
	RegisterOp(OpSchema{OpType: "Tile", SinceOpset: 6, Attrs: []string{}, Infer: inferTile})
	RegisterOp(OpSchema{OpType: "Trilu", SinceOpset: 14, Attrs: []string{"upper"}, Infer: inferTrilu})
	RegisterOp(OpSchema{OpType: "ArgMax", SinceOpset: 1, Attrs: []string{"axis", "keepdims", "select_last_index"}, Infer: inferArgMinMax})
	RegisterOp(OpSchema{OpType: "ArgMin", SinceOpset: 1, Attrs: []string{"axis", "keepdims", "select_last_index"}, Infer: inferArgMinMax})
	RegisterOp(OpSchema{OpType: "TopK", SinceOpset: 1, Attrs: []string{"axis", "k", "largest", "sorted"}, Infer: inferTopK})
	RegisterOp(OpSchema{OpType: "DepthToSpace", SinceOpset: 1, Attrs: []string{"blocksize", "mode"}, Infer: inferSpaceDepth})
	RegisterOp(OpSchema{OpType: "SpaceToDepth", SinceOpset: 1, Attrs: []string{"blocksize"}, Infer: inferSpaceDepth})
	RegisterOp(OpSchema{OpType: "CumSum", SinceOpset: 11, Attrs: []string{"exclusive", "reverse"}, Infer: inferCumSum})
	RegisterOp(OpSchema{OpType: "NonZero", SinceOpset: 9, Attrs: []string{}, Infer: inferNonZero})
	RegisterOp(OpSchema{OpType: "OneHot", SinceOpset: 9, Attrs: []string{"axis"}, Infer: inferOneHot})
	RegisterOp(OpSchema{OpType: "GatherND", SinceOpset: 11, Attrs: []string{"batch_dims"}, Infer: inferGatherND})
	RegisterOp(OpSchema{OpType: "ScatterND", SinceOpset: 11, Attrs: []string{"reduction"}, Infer: inferScatter})
	RegisterOp(OpSchema{OpType: "ScatterElements", SinceOpset: 11, Attrs: []string{"axis", "reduction"}, Infer: inferScatter})
	RegisterOp(OpSchema{OpType: "Scatter", SinceOpset: 9, MaxOpset: 10, Attrs: []string{"axis"}, Infer: inferScatter})
	RegisterOp(OpSchema{OpType: "EyeLike", SinceOpset: 9, Attrs: []string{"dtype", "k"}, Infer: inferEyeLike})
	RegisterOp(OpSchema{OpType: "Compress", SinceOpset: 9, Attrs: []string{"axis"}, Infer: inferCompress})
	RegisterOp(OpSchema{OpType: "Hardmax", SinceOpset: 1, Attrs: []string{"axis"}, Infer: sameAsInput(1, 1, floatTypes)})
}
