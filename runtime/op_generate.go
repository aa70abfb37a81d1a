package runtime

// Reference kernels of the operators that generate tensors from attributes or shapes:
// ConstantOfShape, Range, Trilu, EyeLike and OneHot.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

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

func init() {
	Register(OpInfo{OpType: "ConstantOfShape", Build: buildConstantOfShape})
	Register(OpInfo{OpType: "Range", Build: buildRange})
	Register(OpInfo{OpType: "Trilu", Build: buildTrilu})
	Register(OpInfo{OpType: "OneHot", Build: buildOneHot})
	Register(OpInfo{OpType: "EyeLike", Build: buildEyeLike})
}
