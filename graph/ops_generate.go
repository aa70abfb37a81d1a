package graph

// Shape schemas of the operators that generate tensors: ConstantOfShape, Range, Trilu,
// OneHot and EyeLike.

import (
	"math"
)

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

func init() {
	RegisterOp(OpSchema{OpType: "ConstantOfShape", SinceOpset: 9, Attrs: []string{"value"}, Infer: inferConstantOfShape})
	RegisterOp(OpSchema{OpType: "Range", SinceOpset: 11, Attrs: []string{}, Infer: inferRange})
	RegisterOp(OpSchema{OpType: "Trilu", SinceOpset: 14, Attrs: []string{"upper"}, Infer: inferTrilu})
	RegisterOp(OpSchema{OpType: "OneHot", SinceOpset: 9, Attrs: []string{"axis"}, Infer: inferOneHot})
	RegisterOp(OpSchema{OpType: "EyeLike", SinceOpset: 9, Attrs: []string{"dtype", "k"}, Infer: inferEyeLike})
}
