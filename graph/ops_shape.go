package graph

import (
	"fmt"
	"math"
)

// This file holds the shape-inference schemas of the operators that reshape or
// rearrange data: Constant, Shape, Size, Flatten, Reshape, Transpose, Squeeze,
// Unsqueeze, Expand, Tile, DepthToSpace and SpaceToDepth; the other data-movement
// families are in ops_slice_concat.go, ops_gather_scatter.go, ops_index.go and
// ops_generate.go. Where an output shape
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

func inferSqueeze(c *InferContext) ([]*Value, []*Tensor, error) {
	if err := attrBecameInput(c, 13, "axes"); err != nil {
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

func init() {
	RegisterOp(OpSchema{OpType: "Constant", SinceOpset: 1, Attrs: []string{"value", "sparse_value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings"}, Infer: inferConstant})
	RegisterOp(OpSchema{OpType: "Shape", SinceOpset: 1, Attrs: []string{"start", "end"}, Infer: inferShapeOp})
	RegisterOp(OpSchema{OpType: "Size", SinceOpset: 1, Attrs: []string{}, Infer: inferSize})
	RegisterOp(OpSchema{OpType: "Flatten", SinceOpset: 1, Attrs: []string{"axis"}, Infer: inferFlatten})
	RegisterOp(OpSchema{OpType: "Reshape", SinceOpset: 5, Attrs: []string{"allowzero"}, Infer: inferReshape})
	RegisterOp(OpSchema{OpType: "Transpose", SinceOpset: 1, Attrs: []string{"perm"}, Infer: inferTranspose})
	RegisterOp(OpSchema{OpType: "Squeeze", SinceOpset: 1, Attrs: []string{"axes"}, Infer: inferSqueeze})
	RegisterOp(OpSchema{OpType: "Unsqueeze", SinceOpset: 1, Attrs: []string{"axes"}, Infer: inferUnsqueeze})
	RegisterOp(OpSchema{OpType: "Expand", SinceOpset: 8, Attrs: []string{}, Infer: inferExpand})
	RegisterOp(OpSchema{OpType: "Tile", SinceOpset: 6, Attrs: []string{}, Infer: inferTile})
	RegisterOp(OpSchema{OpType: "DepthToSpace", SinceOpset: 1, Attrs: []string{"blocksize", "mode"}, Infer: inferSpaceDepth})
	RegisterOp(OpSchema{OpType: "SpaceToDepth", SinceOpset: 1, Attrs: []string{"blocksize"}, Infer: inferSpaceDepth})
}
