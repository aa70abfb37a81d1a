package graph

import (
	"fmt"
)

// BroadcastInts applies numpy (ONNX multidirectional) broadcasting to two concrete
// shapes: shapes are right-aligned and each pair of dimensions must be equal or one of
// them 1.
func BroadcastInts(a, b []int) ([]int, error) {
	return BroadcastIntsTo(nil, a, b)
}

// BroadcastIntsTo is BroadcastInts writing the result into dst's backing
// array when it has room (a caller's stack buffer: dst[:0] of a [8]int).
func BroadcastIntsTo(dst, a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := dst[:0]
	if cap(out) < n {
		out = make([]int, n)
	}
	out = out[:n]
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v cannot be broadcast (dimension %d: %d vs %d)", a, b, i, da, db)
		}
	}
	return out, nil
}

// BroadcastIntsN broadcasts any number of concrete shapes (Sum, Max, Where, ...).
func BroadcastIntsN(shapes ...[]int) ([]int, error) {
	out := []int{}
	for _, s := range shapes {
		var err error
		if out, err = BroadcastInts(out, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BroadcastShapes broadcasts two possibly symbolic shapes. An unknown dimension paired
// with a known size > 1 takes that size (the only size it could legally have at run
// time); two unknown dimensions keep a symbolic name only when both carry the same one.
// Known sizes that cannot broadcast are an error.
func BroadcastShapes(a, b Shape) (Shape, error) {
	n := max(len(a), len(b))
	out := make(Shape, n)
	one := Dim{Size: 1}
	for i := 0; i < n; i++ {
		da, db := one, one
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da.Known() && db.Known():
			switch {
			case da.Size == db.Size:
				out[i] = da
			case da.Size == 1:
				out[i] = db
			case db.Size == 1:
				out[i] = da
			default:
				return nil, fmt.Errorf("shapes %s and %s cannot be broadcast (dimension %d: %d vs %d)", a, b, i, da.Size, db.Size)
			}
		case da.Known():
			if da.Size == 1 {
				out[i] = db
			} else {
				out[i] = da
			}
		case db.Known():
			if db.Size == 1 {
				out[i] = da
			} else {
				out[i] = db
			}
		default:
			if da.Param != "" && da.Param == db.Param {
				out[i] = da
			} else {
				out[i] = Dim{Size: -1}
			}
		}
	}
	return out, nil
}

// NormalizeAxis maps a possibly negative axis into [0, rank). It fails when the axis is
// out of range.
func NormalizeAxis(axis int64, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	return int(a), nil
}

// NormalizeAxes normalizes a list of axes and rejects duplicates.
func NormalizeAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make(map[int]bool, len(axes))
	for i, a := range axes {
		v, err := NormalizeAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[v] {
			return nil, fmt.Errorf("axis %d is repeated in %v", a, axes)
		}
		seen[v] = true
		out[i] = v
	}
	return out, nil
}

// Strides returns the row-major element strides of a shape.
func Strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// IntsToShape converts concrete sizes to a Shape (same as ShapeOf, for slices).
func IntsToShape(s []int) Shape { return ShapeOf(s...) }

// Int64sToInts converts int64 sizes (as stored in attributes and shape tensors).
func Int64sToInts(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// ConstEval evaluates one node on constant inputs and returns its outputs (nil, nil
// when it cannot). Shape inference uses it to fold shape computations (Shape -> Gather
// -> Concat -> Reshape, Range, ConstantOfShape, ...) without the graph package
// depending on the kernels: runtime.ConstEval() is the implementation, and callers
// pass it in InferOptions.Eval.
type ConstEval interface {
	EvalConst(n *Node, opset int64, inputs []*Tensor) ([]*Tensor, error)
}

// NoFold is the ConstEval of a caller that wants shape inference without constant
// folding (the graph package's own tests, tools that never link the kernels): shapes
// that depend on computed values stay unknown. It exists so that not folding is a
// choice written at the call site; a nil InferOptions.Eval is an error.
type NoFold struct{}

// EvalConst folds nothing.
func (NoFold) EvalConst(*Node, int64, []*Tensor) ([]*Tensor, error) { return nil, nil }

// MaxFoldElements bounds the input and output sizes FoldConstants evaluates. Shape
// arithmetic is tiny; anything bigger (weights) is the quantizer's business, and folding
// it on every InferShapes call would be slow.
const MaxFoldElements = 1 << 14

// FoldConstants evaluates the node of c when every present input is a known constant
// of at most MaxFoldElements elements and returns the output values (nil when not
// foldable). On success it also replaces the dtype and shape of outs (the values an
// InferFunc is about to return) by those of the computed tensors, which are exact.
// Evaluation errors are real errors of the model (a Reshape to an impossible shape,
// say) and are returned naming the node.
func FoldConstants(c *InferContext, outs []*Value) ([]*Tensor, error) {
	if c.Eval == nil {
		return nil, c.Errorf("no constant evaluator (InferContext.Eval is nil)")
	}
	if _, none := c.Eval.(NoFold); none {
		return nil, nil
	}
	ins := make([]*Tensor, len(c.Node.Inputs))
	for i, name := range c.Node.Inputs {
		if name == "" {
			continue
		}
		t := c.Const(i)
		if t == nil || t.Len() > MaxFoldElements || t.DType == String {
			return nil, nil
		}
		ins[i] = t
	}
	for _, o := range outs {
		if o != nil && o.HasShape {
			if s, ok := o.Shape.Concrete(); ok && NumElements(s) > MaxFoldElements {
				return nil, nil
			}
		}
	}
	res, err := c.Eval.EvalConst(c.Node, c.Opset, ins)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Node.Label(), err)
	}
	for i, t := range res {
		if t == nil || i >= len(outs) {
			continue
		}
		if t.Len() > MaxFoldElements {
			res[i] = nil
		}
		if outs[i] == nil {
			outs[i] = &Value{}
		}
		outs[i].DType = t.DType
		outs[i].Shape = ShapeOf(t.Shape...)
		outs[i].HasShape = true
	}
	return res, nil
}

// SplitAxis returns the element counts before, at and after axis of shape: a
// per-channel loop over a tensor is outer x ch x inner.
func SplitAxis(shape []int, axis int) (outer, ch, inner int) {
	outer, inner = 1, 1
	for i, d := range shape {
		switch {
		case i < axis:
			outer *= d
		case i > axis:
			inner *= d
		}
	}
	return outer, shape[axis], inner
}
