package runtime

// Reference kernels that compute indices or scans along an axis: ArgMax/ArgMin, TopK,
// Hardmax and CumSum.

import (
	"fmt"
	"sort"

	"github.com/warboy-sim/warboy/graph"
)

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

// topkTyped returns the k largest (smallest) values along axis and their
// indices, in order, equal values lower index first (ONNX). A small k runs a
// selection pass (topkSelect); a large k, and a row holding a NaN (whose order
// the comparison sort defines), the stable sort.
func topkTyped[T number](x []T, shape []int, axis, k int, largest bool) ([]T, []int64) {
	outer := graph.NumElements(shape[:axis])
	inner := graph.NumElements(shape[axis+1:])
	n := shape[axis]
	vals := make([]T, outer*k*inner)
	idxs := make([]int64, outer*k*inner)
	var order []int
	sel := make([]int, 0, k)
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*n*inner + in
			top := topkSelect(x, base, inner, n, k, largest, sel[:0])
			if top == nil {
				if order == nil {
					order = make([]int, n)
				}
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
				top = order[:k]
			}
			for j, i := range top {
				at := (o*k+j)*inner + in
				vals[at] = x[base+i*inner]
				idxs[at] = int64(i)
			}
		}
	}
	return vals, idxs
}

// topkSelect returns the indices of the k best of the n values x[base +
// i·stride] in the stable sort's order (better first, equal values lower
// index first) by one pass that keeps the best k sorted in buf: a later index
// enters only when strictly better than the k-th, after the equal values
// already kept. It returns nil when k is more than an eighth of n (the sort is
// as fast) or a value is NaN.
func topkSelect[T number](x []T, base, stride, n, k int, largest bool, buf []int) []int {
	if k == 0 {
		return buf[:0]
	}
	if 8*k > n {
		return nil
	}
	better := func(a, b T) bool {
		if largest {
			return a > b
		}
		return a < b
	}
	for i := 0; i < n; i++ {
		v := x[base+i*stride]
		if v != v {
			return nil
		}
		if len(buf) == k && !better(v, x[base+buf[k-1]*stride]) {
			continue
		}
		// the first kept value v is better than
		p := sort.Search(len(buf), func(j int) bool { return better(v, x[base+buf[j]*stride]) })
		if len(buf) < k {
			buf = append(buf, 0)
		}
		copy(buf[p+1:], buf[p:len(buf)-1])
		buf[p] = i
	}
	return buf
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

func init() {
	Register(OpInfo{OpType: "ArgMax", Build: buildArgMinMax})
	Register(OpInfo{OpType: "ArgMin", Build: buildArgMinMax})
	Register(OpInfo{OpType: "TopK", Build: buildTopK})
	Register(OpInfo{OpType: "CumSum", Build: buildCumSum})
	Register(OpInfo{OpType: "Hardmax", Build: buildHardmax})
}
