package runtime

// Reference kernels of the operators that move or index data: Constant, Shape, Size,
// Flatten, Reshape, Squeeze, Unsqueeze (zero-copy views), Transpose, Slice, Expand,
// Tile, DepthToSpace, SpaceToDepth (one strided copy each), Concat, Split, Gather,
// GatherElements, GatherND, ScatterND, ScatterElements, Compress, ConstantOfShape,
// Range, Trilu, EyeLike, OneHot, NonZero, CumSum, ArgMax/ArgMin, Hardmax and TopK. They work on
// every element type through the buffer abstraction of tensorutil.go. Shape rules
// (Reshape targets, Slice clamping, Split sizes, ...) are the exported helpers of package
// graph, so inferred and computed shapes cannot disagree.

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/warboy-sim/warboy/graph"
)

func buildConstant(b *BuildContext) (Kernel, error) {
	t, err := graph.ConstantValue(b.Node)
	if err != nil {
		return nil, err
	}
	if err := checkTensor("value", t); err != nil {
		return nil, b.Errorf("%v", err)
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		return []*graph.Tensor{t}, nil
	}), nil
}

func buildShape(b *BuildContext) (Kernel, error) {
	n := b.Node
	start, end, hasEnd := n.AttrInt("start", 0), n.AttrInt("end", math.MaxInt64), n.HasAttr("end")
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if len(in) < 1 || in[0] == nil {
			return nil, fmt.Errorf("input is missing")
		}
		lo, hi := graph.ShapeRange(len(in[0].Shape), start, end, hasEnd)
		out := make([]int64, hi-lo)
		for i := range out {
			out[i] = int64(in[0].Shape[lo+i])
		}
		return []*graph.Tensor{graph.FromInt64([]int{len(out)}, out)}, nil
	}), nil
}

func buildSize(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if len(in) < 1 || in[0] == nil {
			return nil, fmt.Errorf("input is missing")
		}
		return []*graph.Tensor{graph.FromInt64(nil, []int64{int64(in[0].Len())})}, nil
	}), nil
}

func buildFlatten(b *BuildContext) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 1)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := int64(len(x.Shape))
		a := axis
		if a < 0 {
			a += r
		}
		if a < 0 || a > r {
			return nil, fmt.Errorf("axis %d is out of range for rank %d", axis, r)
		}
		return []*graph.Tensor{view(x, []int{graph.NumElements(x.Shape[:a]), graph.NumElements(x.Shape[a:])})}, nil
	}), nil
}

func buildReshape(b *BuildContext) (Kernel, error) {
	allowZero := b.Node.AttrInt("allowzero", 0) != 0
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		target, err := intsInput(in[1], "shape")
		if err != nil {
			return nil, err
		}
		out, err := graph.ReshapeTarget(in[0].Shape, target, allowZero)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{view(in[0], out)}, nil
	}), nil
}

// axesArgument reads an axes-like operand: the attribute before opset since, the
// optional input i from it on. nil means absent.
func axesArgument(b *BuildContext, attr string, since int64, in []*graph.Tensor, i int) ([]int64, error) {
	if b.Opset < since {
		return b.Node.AttrInts(attr, nil), nil
	}
	t := optInput(in, i)
	if t == nil {
		return nil, nil
	}
	return intsInput(t, attr)
}

func buildSqueeze(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		axes, err := axesArgument(b, "axes", 13, in, 1)
		if err != nil {
			return nil, err
		}
		drop := make([]bool, len(x.Shape))
		if axes == nil {
			for i, d := range x.Shape {
				drop[i] = d == 1
			}
		} else {
			ax, err := graph.NormalizeAxes(axes, len(x.Shape))
			if err != nil {
				return nil, fmt.Errorf("axes: %v", err)
			}
			for _, a := range ax {
				if x.Shape[a] != 1 {
					return nil, fmt.Errorf("cannot squeeze axis %d of shape %v: its size is not 1", a, x.Shape)
				}
				drop[a] = true
			}
		}
		out := []int{}
		for i, d := range x.Shape {
			if !drop[i] {
				out = append(out, d)
			}
		}
		return []*graph.Tensor{view(x, out)}, nil
	}), nil
}

func buildUnsqueeze(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		axes, err := axesArgument(b, "axes", 13, in, 1)
		if err != nil {
			return nil, err
		}
		if axes == nil {
			return nil, fmt.Errorf("axes are required")
		}
		s, err := graph.UnsqueezeShape(graph.ShapeOf(in[0].Shape...), axes)
		if err != nil {
			return nil, fmt.Errorf("axes: %v", err)
		}
		out, _ := s.Concrete()
		return []*graph.Tensor{view(in[0], out)}, nil
	}), nil
}

// permuted copies x into a new tensor of shape outShape whose element at each index is
// read from x at off + sum(index[i]*strides[i]).
func permuted(x *graph.Tensor, outShape []int, off int, strides []int) (*graph.Tensor, error) {
	src, err := bufferOf(x)
	if err != nil {
		return nil, err
	}
	if err := checkSize(outShape, "output shape"); err != nil {
		return nil, err
	}
	dst := src.Make(graph.NumElements(outShape))
	stridedCopy(dst, 0, outShape, src, off, strides)
	return &graph.Tensor{DType: x.DType, Shape: append([]int{}, outShape...), Data: dst.Data()}, nil
}

// transposeTensor permutes the axes of x (out axis i is input axis perm[i]).
func transposeTensor(x *graph.Tensor, perm []int) (*graph.Tensor, error) {
	st := graph.Strides(x.Shape)
	out := make([]int, len(perm))
	ost := make([]int, len(perm))
	for i, p := range perm {
		out[i] = x.Shape[p]
		ost[i] = st[p]
	}
	return permuted(x, out, 0, ost)
}

func buildTranspose(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		perm, err := graph.TransposePerm(b.Node, len(in[0].Shape))
		if err != nil {
			return nil, err
		}
		out, err := transposeTensor(in[0], perm)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func buildConcat(b *BuildContext) (Kernel, error) {
	if !b.Node.HasAttr("axis") {
		return nil, b.Errorf("attribute axis is required")
	}
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if len(in) == 0 {
			return nil, fmt.Errorf("Concat needs at least one input")
		}
		if err := checkInputs(in, len(in)); err != nil {
			return nil, err
		}
		first := in[0]
		r := len(first.Shape)
		a, err := graph.NormalizeAxis(axis, r)
		if err != nil {
			return nil, err
		}
		out := append([]int{}, first.Shape...)
		out[a] = 0
		for i, t := range in {
			if t.DType != first.DType {
				return nil, fmt.Errorf("dtype mismatch: input %d is %s, input 0 is %s", i, t.DType, first.DType)
			}
			if len(t.Shape) != r {
				return nil, fmt.Errorf("input %d has shape %v, input 0 has %v: ranks differ", i, t.Shape, first.Shape)
			}
			for k := range t.Shape {
				if k != a && t.Shape[k] != first.Shape[k] {
					return nil, fmt.Errorf("input %d has shape %v, input 0 has %v: they differ outside axis %d", i, t.Shape, first.Shape, a)
				}
			}
			out[a] += t.Shape[a]
		}
		src0, err := bufferOf(first)
		if err != nil {
			return nil, err
		}
		dst := src0.Make(graph.NumElements(out))
		outer := graph.NumElements(out[:a])
		inner := graph.NumElements(out[a+1:])
		rowOut := out[a] * inner
		off := 0
		for _, t := range in {
			src, err := bufferOf(t)
			if err != nil {
				return nil, err
			}
			row := t.Shape[a] * inner
			for o := 0; o < outer; o++ {
				dst.Copy(o*rowOut+off, src, o*row, row)
			}
			off += row
		}
		return []*graph.Tensor{{DType: first.DType, Shape: out, Data: dst.Data()}}, nil
	}), nil
}

func buildSplit(b *BuildContext) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 0)
	nout := len(b.Node.Outputs)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		a, err := graph.NormalizeAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		split, err := axesArgument(b, "split", 13, in, 1)
		if err != nil {
			return nil, err
		}
		sizes, err := graph.SplitSizes(x.Shape[a], split, nout)
		if err != nil {
			return nil, err
		}
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		outer := graph.NumElements(x.Shape[:a])
		inner := graph.NumElements(x.Shape[a+1:])
		rowIn := x.Shape[a] * inner
		outs := make([]*graph.Tensor, nout)
		off := 0
		for i, sz := range sizes {
			shape := append([]int{}, x.Shape...)
			shape[a] = sz
			row := sz * inner
			dst := src.Make(outer * row)
			for o := 0; o < outer; o++ {
				dst.Copy(o*row, src, o*rowIn+off, row)
			}
			off += row
			outs[i] = &graph.Tensor{DType: x.DType, Shape: shape, Data: dst.Data()}
		}
		return outs, nil
	}), nil
}

func buildSlice(b *BuildContext) (Kernel, error) {
	n := b.Node
	attrs := b.Opset < 10
	if attrs && (!n.HasAttr("starts") || !n.HasAttr("ends")) {
		return nil, b.Errorf("attributes starts and ends are required")
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		req := 3
		if attrs {
			req = 1
		}
		if err := checkInputs(in, req); err != nil {
			return nil, err
		}
		x := in[0]
		var starts, ends, axes, steps []int64
		if attrs {
			starts, ends, axes = n.AttrInts("starts", nil), n.AttrInts("ends", nil), n.AttrInts("axes", nil)
		} else {
			names := []string{"starts", "ends", "axes", "steps"}
			for i, p := range []*[]int64{&starts, &ends, &axes, &steps} {
				t := optInput(in, i+1)
				if t == nil {
					continue
				}
				v, err := intsInput(t, names[i])
				if err != nil {
					return nil, err
				}
				*p = v
			}
		}
		ax, st, err := graph.SliceAxes(len(x.Shape), starts, ends, axes, steps)
		if err != nil {
			return nil, err
		}
		strides := graph.Strides(x.Shape)
		out := append([]int{}, x.Shape...)
		ostr := append([]int{}, strides...)
		off := 0
		for i, a := range ax {
			p, err := graph.ResolveSlice(x.Shape[a], starts[i], ends[i], st[i])
			if err != nil {
				return nil, err
			}
			out[a] = p.Len
			if p.Len > 0 {
				off += p.Start * strides[a]
			}
			ostr[a] = strides[a] * p.Step
		}
		if graph.NumElements(out) == 0 {
			off = 0
		}
		r, err := permuted(x, out, off, ostr)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{r}, nil
	}), nil
}

// indexValues reads an int32/int64 indices tensor, resolving negative indices against
// dim and rejecting out-of-range ones.
func indexValues(t *graph.Tensor, dim int) ([]int, error) {
	var raw []int64
	switch d := t.Data.(type) {
	case []int64:
		raw = d
	case []int32:
		raw = make([]int64, len(d))
		for i, v := range d {
			raw[i] = int64(v)
		}
	default:
		return nil, fmt.Errorf("indices must be int32 or int64, are %s", t.DType)
	}
	out := make([]int, len(raw))
	for i, v := range raw {
		if v < 0 {
			v += int64(dim)
		}
		if v < 0 || v >= int64(dim) {
			return nil, fmt.Errorf("index %d is out of range for an axis of size %d", raw[i], dim)
		}
		out[i] = int(v)
	}
	return out, nil
}

func buildGather(b *BuildContext) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		a, err := graph.NormalizeAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		idx, err := indexValues(it, x.Shape[a])
		if err != nil {
			return nil, err
		}
		out := append([]int{}, x.Shape[:a]...)
		out = append(out, it.Shape...)
		out = append(out, x.Shape[a+1:]...)
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		dst := src.Make(graph.NumElements(out))
		outer := graph.NumElements(x.Shape[:a])
		inner := graph.NumElements(x.Shape[a+1:])
		d := 0
		for o := 0; o < outer; o++ {
			base := o * x.Shape[a] * inner
			for _, j := range idx {
				dst.Copy(d, src, base+j*inner, inner)
				d += inner
			}
		}
		return []*graph.Tensor{{DType: x.DType, Shape: out, Data: dst.Data()}}, nil
	}), nil
}

func buildGatherElements(b *BuildContext) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		r := len(x.Shape)
		if len(it.Shape) != r {
			return nil, fmt.Errorf("data has rank %d, indices rank %d; they must match", r, len(it.Shape))
		}
		a, err := graph.NormalizeAxis(axis, r)
		if err != nil {
			return nil, err
		}
		for k := range it.Shape {
			if k != a && it.Shape[k] > x.Shape[k] {
				return nil, fmt.Errorf("indices shape %v exceeds data shape %v on axis %d", it.Shape, x.Shape, k)
			}
		}
		idx, err := indexValues(it, x.Shape[a])
		if err != nil {
			return nil, err
		}
		// Turn each index into a flat source offset: the output coordinate with axis a
		// replaced by the index.
		xst := graph.Strides(x.Shape)
		coord := make([]int, r)
		base := 0 // offset of coord in x, without the axis-a term
		for i := range idx {
			idx[i] = base + idx[i]*xst[a]
			for k := r - 1; k >= 0; k-- {
				coord[k]++
				if k != a {
					base += xst[k]
				}
				if coord[k] < it.Shape[k] {
					break
				}
				if k != a {
					base -= xst[k] * it.Shape[k]
				}
				coord[k] = 0
			}
		}
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		dst := src.Make(len(idx))
		dst.Take(0, src, idx)
		return []*graph.Tensor{{DType: x.DType, Shape: append([]int{}, it.Shape...), Data: dst.Data()}}, nil
	}), nil
}

func buildConstantOfShape(b *BuildContext) (Kernel, error) {
	value := graph.ScalarFloat32(0)
	if v := b.Node.AttrTensor("value"); v != nil {
		if v.Len() != 1 {
			return nil, b.Errorf("attribute value must have one element, has shape %v", v.Shape)
		}
		if err := checkTensor("value", v); err != nil {
			return nil, b.Errorf("%v", err)
		}
		value = v
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		s, err := intsInput(in[0], "shape")
		if err != nil {
			return nil, err
		}
		shape, err := shapeFromInts(s, "shape")
		if err != nil {
			return nil, err
		}
		src, err := bufferOf(value)
		if err != nil {
			return nil, err
		}
		n := graph.NumElements(shape)
		dst := src.Make(n)
		dst.Fill(0, n, src, 0)
		return []*graph.Tensor{{DType: value.DType, Shape: shape, Data: dst.Data()}}, nil
	}), nil
}

func buildExpand(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		s, err := intsInput(in[1], "shape")
		if err != nil {
			return nil, err
		}
		shape, err := shapeFromInts(s, "shape")
		if err != nil {
			return nil, err
		}
		out, err := graph.BroadcastInts(in[0].Shape, shape)
		if err != nil {
			return nil, err
		}
		if err := checkSize(out, "output shape"); err != nil {
			return nil, err
		}
		r, err := broadcastTo(in[0], out)
		if err != nil {
			return nil, err
		}
		if r == in[0] {
			r = view(r, r.Shape)
		}
		return []*graph.Tensor{r}, nil
	}), nil
}

func rangeTyped[T number](start, limit, delta T) ([]T, error) {
	if delta == 0 {
		return nil, fmt.Errorf("delta must not be 0")
	}
	var n float64
	if isFloatType[T]() {
		n = math.Ceil((float64(limit) - float64(start)) / float64(delta))
	} else {
		// Exact ceil division for integers.
		num, den := int64(limit)-int64(start), int64(delta)
		q := num / den
		if num%den != 0 && (num < 0) == (den < 0) {
			q++
		}
		n = float64(q)
	}
	if n <= 0 || math.IsNaN(n) {
		return []T{}, nil
	}
	if n > maxElements {
		return nil, fmt.Errorf("range of %g elements exceeds the limit of %d", n, int64(maxElements))
	}
	out := make([]T, int(n))
	for i := range out {
		if isFloatType[T]() {
			out[i] = T(float64(start) + float64(i)*float64(delta))
		} else {
			out[i] = start + T(i)*delta
		}
	}
	return out, nil
}

func buildRange(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 3); err != nil {
			return nil, err
		}
		for i, t := range in[:3] {
			if t.Len() != 1 {
				return nil, fmt.Errorf("input %d must be a scalar, has shape %v", i, t.Shape)
			}
			if t.DType != in[0].DType {
				return nil, fmt.Errorf("dtype mismatch: input %d is %s, input 0 is %s", i, t.DType, in[0].DType)
			}
		}
		var data any
		var err error
		switch s := in[0].Data.(type) {
		case []float32:
			data, err = rangeTyped(s[0], in[1].Data.([]float32)[0], in[2].Data.([]float32)[0])
		case []float64:
			data, err = rangeTyped(s[0], in[1].Data.([]float64)[0], in[2].Data.([]float64)[0])
		case []int16:
			data, err = rangeTyped(s[0], in[1].Data.([]int16)[0], in[2].Data.([]int16)[0])
		case []int32:
			data, err = rangeTyped(s[0], in[1].Data.([]int32)[0], in[2].Data.([]int32)[0])
		case []int64:
			data, err = rangeTyped(s[0], in[1].Data.([]int64)[0], in[2].Data.([]int64)[0])
		default:
			return nil, fmt.Errorf("Range is not defined for %s", in[0].DType)
		}
		if err != nil {
			return nil, err
		}
		t := &graph.Tensor{DType: in[0].DType, Data: data}
		t.Shape = []int{graph.DataLen(data)}
		return []*graph.Tensor{t}, nil
	}), nil
}

func buildTile(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		reps, err := intsInput(in[1], "repeats")
		if err != nil {
			return nil, err
		}
		if len(reps) != len(x.Shape) {
			return nil, fmt.Errorf("repeats %v has %d entries, input has rank %d", reps, len(reps), len(x.Shape))
		}
		// The output viewed as [r0, d0, r1, d1, ...] reads the input with stride 0 on
		// every repeat axis.
		st := graph.Strides(x.Shape)
		var shape6, str6 []int
		out := make([]int, len(reps))
		for i, r := range reps {
			if r < 0 {
				return nil, fmt.Errorf("repeats %v has a negative entry", reps)
			}
			shape6 = append(shape6, int(r), x.Shape[i])
			str6 = append(str6, 0, st[i])
			out[i] = int(r) * x.Shape[i]
		}
		if err := checkSize(out, "output shape"); err != nil {
			return nil, err
		}
		t, err := permuted(x, shape6, 0, str6)
		if err != nil {
			return nil, err
		}
		t.Shape = out
		return []*graph.Tensor{t}, nil
	}), nil
}

func buildTrilu(b *BuildContext) (Kernel, error) {
	upper := b.Node.AttrInt("upper", 1) != 0
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Shape)
		if r < 2 {
			return nil, fmt.Errorf("input must have rank >= 2, has shape %v", x.Shape)
		}
		k := int64(0)
		if t := optInput(in, 1); t != nil {
			var err error
			if k, err = scalarInt64(t, "k"); err != nil {
				return nil, err
			}
		}
		rows, cols := x.Shape[r-2], x.Shape[r-1]
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		dst := src.Make(x.Len()) // zeros
		mats := graph.NumElements(x.Shape[:r-2])
		for m := 0; m < mats; m++ {
			for i := 0; i < rows; i++ {
				// Keep columns j with j-i >= k (upper) or j-i <= k (lower).
				lo, hi := int64(0), int64(cols)
				if upper {
					lo = max(0, min(int64(cols), int64(i)+k))
				} else {
					hi = max(0, min(int64(cols), int64(i)+k+1))
				}
				if hi > lo {
					off := (m*rows+i)*cols + int(lo)
					dst.Copy(off, src, off, int(hi-lo))
				}
			}
		}
		return []*graph.Tensor{{DType: x.DType, Shape: append([]int{}, x.Shape...), Data: dst.Data()}}, nil
	}), nil
}

// ArgMax / ArgMin.

func argTyped[T number](x []T, shape []int, axis int, isMax, last bool) []int64 {
	outer := graph.NumElements(shape[:axis])
	inner := graph.NumElements(shape[axis+1:])
	n := shape[axis]
	out := make([]int64, outer*inner)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			best, bi := x[base], 0
			for j := 1; j < n; j++ {
				v := x[base+j*inner]
				better := v > best
				if !isMax {
					better = v < best
				}
				if better || (last && v == best) {
					best, bi = v, j
				}
			}
			out[o*inner+in] = int64(bi)
		}
	}
	return out
}

func buildArgMinMax(b *BuildContext) (Kernel, error) {
	n := b.Node
	axis := n.AttrInt("axis", 0)
	keep := n.AttrInt("keepdims", 1) != 0
	last := n.AttrInt("select_last_index", 0) != 0
	isMax := n.OpType == "ArgMax"
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := widenHalf(in[0])
		a, err := graph.NormalizeAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		if x.Shape[a] == 0 {
			return nil, fmt.Errorf("cannot take %s over an empty axis", n.OpType)
		}
		var out []int64
		switch d := x.Data.(type) {
		case []float32:
			out = argTyped(d, x.Shape, a, isMax, last)
		case []float64:
			out = argTyped(d, x.Shape, a, isMax, last)
		case []int8:
			out = argTyped(d, x.Shape, a, isMax, last)
		case []uint8:
			out = argTyped(d, x.Shape, a, isMax, last)
		case []int16:
			out = argTyped(d, x.Shape, a, isMax, last)
		case []uint16:
			out = argTyped(d, x.Shape, a, isMax, last)
		case []int32:
			out = argTyped(d, x.Shape, a, isMax, last)
		case []uint32:
			out = argTyped(d, x.Shape, a, isMax, last)
		case []int64:
			out = argTyped(d, x.Shape, a, isMax, last)
		case []uint64:
			out = argTyped(d, x.Shape, a, isMax, last)
		default:
			return nil, fmt.Errorf("%s is not defined for %s", n.OpType, x.DType)
		}
		shape := []int{}
		for i, d := range x.Shape {
			if i != a {
				shape = append(shape, d)
			} else if keep {
				shape = append(shape, 1)
			}
		}
		return []*graph.Tensor{graph.FromInt64(shape, out)}, nil
	}), nil
}

// TopK.

func topkTyped[T number](x []T, shape []int, axis, k int, largest bool) ([]T, []int64) {
	outer := graph.NumElements(shape[:axis])
	inner := graph.NumElements(shape[axis+1:])
	n := shape[axis]
	vals := make([]T, outer*k*inner)
	idxs := make([]int64, outer*k*inner)
	order := make([]int, n)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			for j := range order {
				order[j] = j
			}
			// Stable: equal values keep the lower index first, as ONNX specifies.
			sort.SliceStable(order, func(p, q int) bool {
				a, b := x[base+order[p]*inner], x[base+order[q]*inner]
				if largest {
					return a > b
				}
				return a < b
			})
			for j := 0; j < k; j++ {
				at := (o*k+j)*inner + in
				vals[at] = x[base+order[j]*inner]
				idxs[at] = int64(order[j])
			}
		}
	}
	return vals, idxs
}

func buildTopK(b *BuildContext) (Kernel, error) {
	n := b.Node
	axis := n.AttrInt("axis", -1)
	largest := n.AttrInt("largest", 1) != 0
	opset := b.Opset
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		req := 2
		if opset < 10 {
			req = 1
		}
		if err := checkInputs(in, req); err != nil {
			return nil, err
		}
		x := in[0]
		var k int64
		if opset < 10 {
			if !n.HasAttr("k") {
				return nil, fmt.Errorf("attribute k is required")
			}
			k = n.AttrInt("k", 0)
		} else {
			var err error
			if k, err = scalarInt64(in[1], "K"); err != nil {
				return nil, err
			}
		}
		a, err := graph.NormalizeAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		if k < 0 || k > int64(x.Shape[a]) {
			return nil, fmt.Errorf("K = %d is out of range for axis %d of shape %v", k, a, x.Shape)
		}
		shape := append([]int{}, x.Shape...)
		shape[a] = int(k)
		wx := widenHalf(x)
		var vals any
		var idx []int64
		switch d := wx.Data.(type) {
		case []float32:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		case []float64:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		case []int8:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		case []uint8:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		case []int16:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		case []uint16:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		case []int32:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		case []uint32:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		case []int64:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		case []uint64:
			vals, idx = topkTyped(d, x.Shape, a, int(k), largest)
		default:
			return nil, fmt.Errorf("TopK is not defined for %s", x.DType)
		}
		v := narrowHalf(&graph.Tensor{DType: wx.DType, Shape: shape, Data: vals}, x.DType)
		return []*graph.Tensor{v, graph.FromInt64(append([]int{}, shape...), idx)}, nil
	}), nil
}

// DepthToSpace and SpaceToDepth are a reshape to 6-D, a transpose and a reshape back;
// the transpose is one strided copy.

func buildSpaceDepth(b *BuildContext) (Kernel, error) {
	n := b.Node
	bs := int(n.AttrInt("blocksize", 0))
	if bs <= 0 {
		return nil, b.Errorf("attribute blocksize must be positive, is %d", bs)
	}
	mode := n.AttrString("mode", "DCR")
	if n.OpType == "DepthToSpace" && mode != "DCR" && mode != "CRD" {
		return nil, b.Errorf("mode must be DCR or CRD, is %q", mode)
	}
	toSpace := n.OpType == "DepthToSpace"
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) != 4 {
			return nil, fmt.Errorf("input must be 4-D (NCHW), has shape %v", x.Shape)
		}
		N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		var six, perm, out []int
		if toSpace {
			if C%(bs*bs) != 0 {
				return nil, fmt.Errorf("channels %d are not divisible by blocksize^2 = %d", C, bs*bs)
			}
			c := C / (bs * bs)
			if mode == "DCR" {
				six, perm = []int{N, bs, bs, c, H, W}, []int{0, 3, 4, 1, 5, 2}
			} else {
				six, perm = []int{N, c, bs, bs, H, W}, []int{0, 1, 4, 2, 5, 3}
			}
			out = []int{N, c, H * bs, W * bs}
		} else {
			if H%bs != 0 || W%bs != 0 {
				return nil, fmt.Errorf("spatial size %dx%d is not divisible by blocksize %d", H, W, bs)
			}
			six, perm = []int{N, C, H / bs, bs, W / bs, bs}, []int{0, 3, 5, 1, 2, 4}
			out = []int{N, C * bs * bs, H / bs, W / bs}
		}
		t, err := transposeTensor(view(x, six), perm)
		if err != nil {
			return nil, err
		}
		t.Shape = out
		return []*graph.Tensor{t}, nil
	}), nil
}

// CumSum.

func cumsumTyped[T number](x []T, shape []int, axis int, exclusive, reverse bool) []T {
	out := make([]T, len(x))
	outer := graph.NumElements(shape[:axis])
	inner := graph.NumElements(shape[axis+1:])
	n := shape[axis]
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			var acc T
			for j := 0; j < n; j++ {
				k := j
				if reverse {
					k = n - 1 - j
				}
				at := base + k*inner
				if exclusive {
					out[at] = acc
					acc += x[at]
				} else {
					acc += x[at]
					out[at] = acc
				}
			}
		}
	}
	return out
}

func buildCumSum(b *BuildContext) (Kernel, error) {
	exclusive := b.Node.AttrInt("exclusive", 0) != 0
	reverse := b.Node.AttrInt("reverse", 0) != 0
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		ax, err := scalarInt64(in[1], "axis")
		if err != nil {
			return nil, err
		}
		x := widenHalf(in[0])
		a, err := graph.NormalizeAxis(ax, len(x.Shape))
		if err != nil {
			return nil, err
		}
		var data any
		switch d := x.Data.(type) {
		case []float32:
			data = cumsumTyped(d, x.Shape, a, exclusive, reverse)
		case []float64:
			data = cumsumTyped(d, x.Shape, a, exclusive, reverse)
		case []int32:
			data = cumsumTyped(d, x.Shape, a, exclusive, reverse)
		case []int64:
			data = cumsumTyped(d, x.Shape, a, exclusive, reverse)
		case []uint32:
			data = cumsumTyped(d, x.Shape, a, exclusive, reverse)
		case []uint64:
			data = cumsumTyped(d, x.Shape, a, exclusive, reverse)
		default:
			return nil, fmt.Errorf("CumSum is not defined for %s", in[0].DType)
		}
		out := &graph.Tensor{DType: x.DType, Shape: append([]int{}, x.Shape...), Data: data}
		return []*graph.Tensor{narrowHalf(out, in[0].DType)}, nil
	}), nil
}

func buildNonZero(b *BuildContext) (Kernel, error) {
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		v, err := x.AsFloat64()
		if err != nil {
			return nil, err
		}
		var hits []int
		for i, f := range v {
			if f != 0 {
				hits = append(hits, i)
			}
		}
		r := len(x.Shape)
		out := make([]int64, r*len(hits))
		for j, h := range hits {
			idx := unravel(h, x.Shape)
			for k := 0; k < r; k++ {
				out[k*len(hits)+j] = int64(idx[k])
			}
		}
		return []*graph.Tensor{graph.FromInt64([]int{r, len(hits)}, out)}, nil
	}), nil
}

func buildOneHot(b *BuildContext) (Kernel, error) {
	axis := b.Node.AttrInt("axis", -1)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 3); err != nil {
			return nil, err
		}
		idxT, depthT, vals := in[0], in[1], in[2]
		idx, err := widenHalf(idxT).AsFloat64()
		if err != nil {
			return nil, err
		}
		dv, err := widenHalf(depthT).AsFloat64()
		if err != nil || len(dv) != 1 {
			return nil, fmt.Errorf("depth must be a numeric scalar")
		}
		depth := int64(dv[0])
		if depth < 1 || depth > maxElements {
			return nil, fmt.Errorf("depth %g is out of range", dv[0])
		}
		if vals.Len() != 2 {
			return nil, fmt.Errorf("values must have two elements [off, on], has shape %v", vals.Shape)
		}
		r := len(idxT.Shape) + 1
		a, err := graph.NormalizeAxis(axis, r)
		if err != nil {
			return nil, err
		}
		shape := append([]int{}, idxT.Shape[:a]...)
		shape = append(shape, int(depth))
		shape = append(shape, idxT.Shape[a:]...)
		if err := checkSize(shape, "output shape"); err != nil {
			return nil, err
		}
		src, err := bufferOf(vals)
		if err != nil {
			return nil, err
		}
		dst := src.Make(graph.NumElements(shape))
		dst.Fill(0, dst.Len(), src, 0)
		inner := graph.NumElements(idxT.Shape[a:])
		for i, f := range idx {
			k := int64(f)
			if k < 0 {
				k += depth
			}
			if k < 0 || k >= depth {
				continue // out of range: all off
			}
			o, p := i/inner, i%inner
			dst.Copy((o*int(depth)+int(k))*inner+p, src, 1, 1)
		}
		return []*graph.Tensor{{DType: vals.DType, Shape: shape, Data: dst.Data()}}, nil
	}), nil
}

func buildGatherND(b *BuildContext) (Kernel, error) {
	bd := int(b.Node.AttrInt("batch_dims", 0))
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		q := len(it.Shape)
		if q == 0 {
			return nil, fmt.Errorf("indices must have rank >= 1")
		}
		k := it.Shape[q-1]
		if bd < 0 || bd >= q || bd+k > len(x.Shape) {
			return nil, fmt.Errorf("indices of shape %v with batch_dims %d do not fit data of shape %v", it.Shape, bd, x.Shape)
		}
		for i := 0; i < bd; i++ {
			if it.Shape[i] != x.Shape[i] {
				return nil, fmt.Errorf("batch dimension %d differs: indices %v, data %v", i, it.Shape, x.Shape)
			}
		}
		raw, ok := it.Data.([]int64)
		if !ok {
			return nil, fmt.Errorf("indices must be int64, are %s", it.DType)
		}
		xst := graph.Strides(x.Shape)
		block := graph.NumElements(x.Shape[bd+k:])
		batches := graph.NumElements(x.Shape[:bd])
		batchStride := graph.NumElements(x.Shape[bd:])
		perBatch := graph.NumElements(it.Shape[bd : q-1])
		out := append([]int{}, it.Shape[:q-1]...)
		out = append(out, x.Shape[bd+k:]...)
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		dst := src.Make(graph.NumElements(out))
		d := 0
		for bi := 0; bi < batches; bi++ {
			for j := 0; j < perBatch; j++ {
				tuple := raw[(bi*perBatch+j)*k : (bi*perBatch+j+1)*k]
				off := bi * batchStride
				for m, v := range tuple {
					dim := int64(x.Shape[bd+m])
					if v < 0 {
						v += dim
					}
					if v < 0 || v >= dim {
						return nil, fmt.Errorf("index %d is out of range for axis %d of size %d", tuple[m], bd+m, dim)
					}
					off += int(v) * xst[bd+m]
				}
				dst.Copy(d, src, off, block)
				d += block
			}
		}
		return []*graph.Tensor{{DType: x.DType, Shape: out, Data: dst.Data()}}, nil
	}), nil
}

// scatterUpdate writes updates[src:src+n] into the output at dst.
type scatterUpdate struct{ dst, src, n int }

func reduceTyped[T number](out, upd []T, ups []scatterUpdate, mul bool) {
	for _, u := range ups {
		o, s := out[u.dst:u.dst+u.n], upd[u.src:u.src+u.n]
		for i := range o {
			if mul {
				o[i] *= s[i]
			} else {
				o[i] += s[i]
			}
		}
	}
}

// applyScatter copies data and applies the updates in order (later updates win for
// reduction "none", as ONNX Runtime does with duplicate indices).
func applyScatter(data, updates *graph.Tensor, ups []scatterUpdate, reduction string) (*graph.Tensor, error) {
	if data.DType != updates.DType {
		return nil, fmt.Errorf("dtype mismatch: data is %s, updates are %s", data.DType, updates.DType)
	}
	src, err := bufferOf(data)
	if err != nil {
		return nil, err
	}
	ub, err := bufferOf(updates)
	if err != nil {
		return nil, err
	}
	dst := src.Make(src.Len())
	dst.Copy(0, src, 0, src.Len())
	out := &graph.Tensor{DType: data.DType, Shape: append([]int{}, data.Shape...), Data: dst.Data()}
	if reduction == "none" {
		for _, u := range ups {
			dst.Copy(u.dst, ub, u.src, u.n)
		}
		return out, nil
	}
	mul := reduction == "mul"
	if data.DType == graph.Float16 || data.DType == graph.BFloat16 {
		w, err := applyScatter(widenHalf(data), widenHalf(updates), ups, reduction)
		if err != nil {
			return nil, err
		}
		return narrowHalf(w, data.DType), nil
	}
	switch o := out.Data.(type) {
	case []float32:
		reduceTyped(o, updates.Data.([]float32), ups, mul)
	case []float64:
		reduceTyped(o, updates.Data.([]float64), ups, mul)
	case []int8:
		reduceTyped(o, updates.Data.([]int8), ups, mul)
	case []uint8:
		reduceTyped(o, updates.Data.([]uint8), ups, mul)
	case []int16:
		reduceTyped(o, updates.Data.([]int16), ups, mul)
	case []uint16:
		reduceTyped(o, updates.Data.([]uint16), ups, mul)
	case []int32:
		reduceTyped(o, updates.Data.([]int32), ups, mul)
	case []uint32:
		reduceTyped(o, updates.Data.([]uint32), ups, mul)
	case []int64:
		reduceTyped(o, updates.Data.([]int64), ups, mul)
	case []uint64:
		reduceTyped(o, updates.Data.([]uint64), ups, mul)
	default:
		return nil, fmt.Errorf("reduction %q is not defined for %s", reduction, data.DType)
	}
	return out, nil
}

func scatterReduction(b *BuildContext) (string, error) {
	r := b.Node.AttrString("reduction", "none")
	if r != "none" && r != "add" && r != "mul" {
		return "", fmt.Errorf("%s: %w reduction %q", b.Node.Label(), graph.ErrUnsupported, r)
	}
	return r, nil
}

func buildScatterND(b *BuildContext) (Kernel, error) {
	reduction, err := scatterReduction(b)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 3); err != nil {
			return nil, err
		}
		x, it, upd := in[0], in[1], in[2]
		q := len(it.Shape)
		if q == 0 {
			return nil, fmt.Errorf("indices must have rank >= 1")
		}
		k := it.Shape[q-1]
		if k > len(x.Shape) {
			return nil, fmt.Errorf("index tuples of length %d exceed the data rank %d", k, len(x.Shape))
		}
		want := append(append([]int{}, it.Shape[:q-1]...), x.Shape[k:]...)
		if !slices.Equal(upd.Shape, want) {
			return nil, fmt.Errorf("updates have shape %v, expected %v", upd.Shape, want)
		}
		raw, ok := it.Data.([]int64)
		if !ok {
			return nil, fmt.Errorf("indices must be int64, are %s", it.DType)
		}
		xst := graph.Strides(x.Shape)
		block := graph.NumElements(x.Shape[k:])
		n := graph.NumElements(it.Shape[:q-1])
		ups := make([]scatterUpdate, n)
		for j := 0; j < n; j++ {
			off := 0
			for m, v := range raw[j*k : (j+1)*k] {
				dim := int64(x.Shape[m])
				if v < 0 {
					v += dim
				}
				if v < 0 || v >= dim {
					return nil, fmt.Errorf("index %d is out of range for axis %d of size %d", raw[j*k+m], m, dim)
				}
				off += int(v) * xst[m]
			}
			ups[j] = scatterUpdate{dst: off, src: j * block, n: block}
		}
		out, err := applyScatter(x, upd, ups, reduction)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func buildScatterElements(b *BuildContext) (Kernel, error) {
	reduction, err := scatterReduction(b)
	if err != nil {
		return nil, err
	}
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 3); err != nil {
			return nil, err
		}
		x, it, upd := in[0], in[1], in[2]
		r := len(x.Shape)
		if len(it.Shape) != r || !slices.Equal(it.Shape, upd.Shape) {
			return nil, fmt.Errorf("data %v, indices %v and updates %v must have the same rank, indices and updates the same shape", x.Shape, it.Shape, upd.Shape)
		}
		a, err := graph.NormalizeAxis(axis, r)
		if err != nil {
			return nil, err
		}
		for k := range it.Shape {
			if k != a && it.Shape[k] > x.Shape[k] {
				return nil, fmt.Errorf("indices shape %v exceeds data shape %v on axis %d", it.Shape, x.Shape, k)
			}
		}
		idx, err := indexValues(it, x.Shape[a])
		if err != nil {
			return nil, err
		}
		xst := graph.Strides(x.Shape)
		ups := make([]scatterUpdate, len(idx))
		coord := make([]int, r)
		for i := range idx {
			off := idx[i] * xst[a]
			for k := 0; k < r; k++ {
				if k != a {
					off += coord[k] * xst[k]
				}
			}
			ups[i] = scatterUpdate{dst: off, src: i, n: 1}
			for k := r - 1; k >= 0; k-- {
				coord[k]++
				if coord[k] < it.Shape[k] {
					break
				}
				coord[k] = 0
			}
		}
		out, err := applyScatter(x, upd, ups, reduction)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func buildEyeLike(b *BuildContext) (Kernel, error) {
	n := b.Node
	k := int(n.AttrInt("k", 0))
	hasDType := n.HasAttr("dtype")
	dtype := graph.DType(n.AttrInt("dtype", 0))
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) != 2 {
			return nil, fmt.Errorf("input must be 2-D, has shape %v", x.Shape)
		}
		dt := x.DType
		if hasDType {
			dt = dtype
		}
		rows, cols := x.Shape[0], x.Shape[1]
		eye := make([]float64, rows*cols)
		for i := 0; i < rows; i++ {
			if j := i + k; j >= 0 && j < cols {
				eye[i*cols+j] = 1
			}
		}
		out, err := castTensor(&graph.Tensor{DType: graph.Float64, Shape: []int{rows, cols}, Data: eye}, dt)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
	}), nil
}

func buildCompress(b *BuildContext) (Kernel, error) {
	hasAxis := b.Node.HasAttr("axis")
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 2); err != nil {
			return nil, err
		}
		x, ct := in[0], in[1]
		cond, ok := ct.Data.([]bool)
		if !ok || len(ct.Shape) != 1 {
			return nil, fmt.Errorf("condition must be a 1-D bool tensor, is %s %v", ct.DType, ct.Shape)
		}
		shape := []int{x.Len()}
		a := 0
		if hasAxis {
			var err error
			if a, err = graph.NormalizeAxis(axis, len(x.Shape)); err != nil {
				return nil, err
			}
			shape = x.Shape
		}
		if len(cond) > shape[a] {
			return nil, fmt.Errorf("condition has %d entries, the axis has size %d", len(cond), shape[a])
		}
		var keep []int
		for i, c := range cond {
			if c {
				keep = append(keep, i)
			}
		}
		outer := graph.NumElements(shape[:a])
		inner := graph.NumElements(shape[a+1:])
		out := append([]int{}, shape...)
		out[a] = len(keep)
		src, err := bufferOf(x)
		if err != nil {
			return nil, err
		}
		dst := src.Make(graph.NumElements(out))
		d := 0
		for o := 0; o < outer; o++ {
			for _, j := range keep {
				dst.Copy(d, src, (o*shape[a]+j)*inner, inner)
				d += inner
			}
		}
		return []*graph.Tensor{{DType: x.DType, Shape: out, Data: dst.Data()}}, nil
	}), nil
}

// buildHardmax marks the first maximum along the axis with 1. Before opset 13 the
// input is coerced to 2-D at axis (default 1) and the maximum is taken over each row;
// from opset 13 on it is taken along the single axis (default -1).
func buildHardmax(b *BuildContext) (Kernel, error) {
	old := b.Opset < 13
	def := int64(-1)
	if old {
		def = 1
	}
	axis := b.Node.AttrInt("axis", def)
	return KernelFunc(func(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
		if err := checkInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		v, err := widenHalf(x).AsFloat64()
		if err != nil {
			return nil, err
		}
		r := len(x.Shape)
		var shape []int
		var a int
		if old {
			ax := axis
			if ax < 0 {
				ax += int64(r)
			}
			if ax < 0 || ax > int64(r) {
				return nil, fmt.Errorf("axis %d is out of range for rank %d", axis, r)
			}
			shape, a = []int{graph.NumElements(x.Shape[:ax]), graph.NumElements(x.Shape[ax:])}, 1
		} else {
			if a, err = graph.NormalizeAxis(axis, r); err != nil {
				return nil, err
			}
			shape = x.Shape
		}
		out := make([]float64, len(v))
		if len(v) > 0 && shape[a] > 0 {
			arg := argTyped(v, shape, a, true, false)
			inner := graph.NumElements(shape[a+1:])
			for i, j := range arg {
				o, p := i/inner, i%inner
				out[(o*shape[a]+int(j))*inner+p] = 1
			}
		}
		res, err := castTensor(&graph.Tensor{DType: graph.Float64, Shape: append([]int{}, x.Shape...), Data: out}, x.DType)
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{res}, nil
	}), nil
}

func init() {
	Register(OpInfo{OpType: "Constant", Build: buildConstant})
	Register(OpInfo{OpType: "Shape", Build: buildShape})
	Register(OpInfo{OpType: "Size", Build: buildSize})
	Register(OpInfo{OpType: "Flatten", Build: buildFlatten})
	Register(OpInfo{OpType: "Reshape", Build: buildReshape})
	Register(OpInfo{OpType: "Squeeze", Build: buildSqueeze})
	Register(OpInfo{OpType: "Unsqueeze", Build: buildUnsqueeze})
	Register(OpInfo{OpType: "Transpose", Build: buildTranspose})
	Register(OpInfo{OpType: "Concat", Build: buildConcat})
	Register(OpInfo{OpType: "Split", Build: buildSplit})
	Register(OpInfo{OpType: "Slice", Build: buildSlice})
	Register(OpInfo{OpType: "Gather", Build: buildGather})
	Register(OpInfo{OpType: "GatherElements", Build: buildGatherElements})
	Register(OpInfo{OpType: "ConstantOfShape", Build: buildConstantOfShape})
	Register(OpInfo{OpType: "Expand", Build: buildExpand})
	Register(OpInfo{OpType: "Range", Build: buildRange})
	Register(OpInfo{OpType: "Tile", Build: buildTile})
	Register(OpInfo{OpType: "Trilu", Build: buildTrilu})
	Register(OpInfo{OpType: "ArgMax", Build: buildArgMinMax})
	Register(OpInfo{OpType: "ArgMin", Build: buildArgMinMax})
	Register(OpInfo{OpType: "TopK", Build: buildTopK})
	Register(OpInfo{OpType: "DepthToSpace", Build: buildSpaceDepth})
	Register(OpInfo{OpType: "SpaceToDepth", Build: buildSpaceDepth})
	Register(OpInfo{OpType: "CumSum", Build: buildCumSum})
	Register(OpInfo{OpType: "NonZero", Build: buildNonZero})
	Register(OpInfo{OpType: "OneHot", Build: buildOneHot})
	Register(OpInfo{OpType: "GatherND", Build: buildGatherND})
	Register(OpInfo{OpType: "ScatterND", Build: buildScatterND})
	Register(OpInfo{OpType: "ScatterElements", Build: buildScatterElements})
	Register(OpInfo{OpType: "Scatter", Build: buildScatterElements})
	Register(OpInfo{OpType: "EyeLike", Build: buildEyeLike})
	Register(OpInfo{OpType: "Compress", Build: buildCompress})
	Register(OpInfo{OpType: "Hardmax", Build: buildHardmax})
}
