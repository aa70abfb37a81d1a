package runtime

// The Reduce* operators. After merging adjacent axes that are reduced alike, any
// reduction is a reduction of an [outer, n, inner] view along its middle axis; shapes
// that do not fit that pattern (e.g. axes 0 and 2 of a rank-3 tensor) are first
// transposed so that the reduced axes are adjacent. Floating-point reductions
// accumulate in float64, integer ones in int64 (wrapping like the element type would).

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

type redOp int

const (
	redSum redOp = iota
	redMean
	redMax
	redMin
	redProd
	redL1
	redL2
	redSumSquare
	redLogSum
	redLogSumExp
)

var redOps = map[string]redOp{
	"ReduceSum": redSum, "ReduceMean": redMean, "ReduceMax": redMax, "ReduceMin": redMin,
	"ReduceProd": redProd, "ReduceL1": redL1, "ReduceL2": redL2, "ReduceSumSquare": redSumSquare,
	"ReduceLogSum": redLogSum, "ReduceLogSumExp": redLogSumExp,
}

type reduceKernel struct {
	node      *graph.Node
	op        redOp
	fromInput bool
	attrAxes  []int64
	keepDims  bool
	noopEmpty bool
}

func buildReduce(b *BuildContext) (Kernel, error) {
	n := b.Node
	op, ok := redOps[n.OpType]
	if !ok {
		return nil, b.Errorf("not a reduction")
	}
	return &reduceKernel{
		node:      n,
		op:        op,
		fromInput: graph.ReduceAxesFromInput(n.OpType, b.Opset),
		attrAxes:  n.AttrInts("axes", nil),
		keepDims:  n.AttrInt("keepdims", 1) != 0,
		noopEmpty: n.AttrInt("noop_with_empty_axes", 0) != 0,
	}, nil
}

func (k *reduceKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if nnIsHalf(x) {
		return nnHalfWrap(ctx, k, in)
	}
	red, noop, err := k.reducedAxes(len(x.Shape), in)
	if err != nil {
		return nil, err
	}
	if noop {
		return k.noop(x)
	}
	outShape := k.outShape(x.Shape, red)
	// Order the input as [kept..., reduced...] when the reduced axes are not one run.
	src := x
	var segs []int
	for i := range x.Shape {
		if i == 0 || red[i] != red[i-1] {
			segs = append(segs, i)
		}
	}
	redRuns := 0
	for _, s := range segs {
		if red[s] {
			redRuns++
		}
	}
	if redRuns > 1 {
		var perm []int
		for i := range x.Shape {
			if !red[i] {
				perm = append(perm, i)
			}
		}
		for i := range x.Shape {
			if red[i] {
				perm = append(perm, i)
			}
		}
		var err error
		if src, err = nnPermute(x, perm); err != nil {
			return nil, err
		}
		kept := 0
		for _, r := range red {
			if !r {
				kept++
			}
		}
		for i := range red {
			red[i] = i >= kept
		}
	}
	first, last := -1, -1
	for i, r := range red {
		if r {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	outer, n, inner := graph.NumElements(src.Shape), 1, 1
	if first >= 0 {
		outer = graph.NumElements(src.Shape[:first])
		n = graph.NumElements(src.Shape[first : last+1])
		inner = graph.NumElements(src.Shape[last+1:])
	}
	out := graph.NewTensor(x.DType, outShape)
	switch xd := src.Data.(type) {
	case []float32:
		reduceFloat(k.op, xd, out.F32(), outer, n, inner)
	case []float64:
		reduceFloat(k.op, xd, out.Data.([]float64), outer, n, inner)
	case []int32:
		reduceInt(k.op, xd, out.Data.([]int32), outer, n, inner)
	case []int64:
		reduceInt(k.op, xd, out.Data.([]int64), outer, n, inner)
	case []uint32:
		reduceInt(k.op, xd, out.Data.([]uint32), outer, n, inner)
	case []uint64:
		reduceInt(k.op, xd, out.Data.([]uint64), outer, n, inner)
	case []int8:
		reduceInt(k.op, xd, out.I8(), outer, n, inner)
	case []uint8:
		reduceInt(k.op, xd, out.U8(), outer, n, inner)
	default:
		return nil, fmt.Errorf("unsupported input type %s", x.DType)
	}
	return []*graph.Tensor{out}, nil
}

// reducedAxes marks the axes of a rank-rank input that the reduction
// reduces (in holds the kernel's inputs: the axes input of opset 18 and
// ReduceSum-13 is in[1]); noop reports a reduction over no axes with
// noop_with_empty_axes.
func (k *reduceKernel) reducedAxes(rank int, in []*graph.Tensor) (red []bool, noop bool, err error) {
	axes := k.attrAxes
	if k.fromInput {
		axes = nil
		if a := optInput(in, 1); a != nil {
			if axes, err = intsInput(a, "axes"); err != nil {
				return nil, false, err
			}
		}
	}
	red = make([]bool, rank)
	if len(axes) == 0 {
		if k.noopEmpty {
			return nil, true, nil
		}
		for i := range red {
			red[i] = true
		}
		return red, false, nil
	}
	na, err := graph.NormalizeAxes(axes, rank)
	if err != nil {
		return nil, false, fmt.Errorf("axes: %v", err)
	}
	for _, a := range na {
		red[a] = true
	}
	return red, false, nil
}

// outShape is the shape of the reduction of an input of shape shape.
func (k *reduceKernel) outShape(shape []int, red []bool) []int {
	var out []int
	for i, d := range shape {
		switch {
		case !red[i]:
			out = append(out, d)
		case k.keepDims:
			out = append(out, 1)
		}
	}
	return out
}

// nnPermute returns x transposed by perm.
func nnPermute(x *graph.Tensor, perm []int) (*graph.Tensor, error) {
	src, err := bufferOf(x)
	if err != nil {
		return nil, err
	}
	st := graph.Strides(x.Shape)
	shape := make([]int, len(perm))
	strides := make([]int, len(perm))
	for i, p := range perm {
		shape[i], strides[i] = x.Shape[p], st[p]
	}
	dst := src.Make(x.Len())
	stridedCopy(dst, 0, shape, src, 0, strides)
	return &graph.Tensor{DType: x.DType, Shape: shape, Data: dst.Data()}, nil
}

// noop applies what a reduction over no axes leaves of each element (ONNX's reference
// squares for ReduceSumSquare, takes |x| for L1/L2, log for LogSum).
func (k *reduceKernel) noop(x *graph.Tensor) ([]*graph.Tensor, error) {
	switch k.op {
	case redSum, redMean, redMax, redMin, redProd, redLogSumExp:
		return []*graph.Tensor{x.Clone()}, nil
	}
	out := graph.NewTensor(x.DType, x.Shape)
	switch xd := x.Data.(type) {
	case []float32:
		reduceFloat(k.op, xd, out.F32(), x.Len(), 1, 1)
	case []float64:
		reduceFloat(k.op, xd, out.Data.([]float64), x.Len(), 1, 1)
	case []int32:
		reduceInt(k.op, xd, out.Data.([]int32), x.Len(), 1, 1)
	case []int64:
		reduceInt(k.op, xd, out.Data.([]int64), x.Len(), 1, 1)
	default:
		return nil, fmt.Errorf("unsupported input type %s", x.DType)
	}
	return []*graph.Tensor{out}, nil
}

// reduceFloat reduces x viewed as [outer, n, inner] along the middle axis.
func reduceFloat[T floating](op redOp, x, y []T, outer, n, inner int) {
	if inner == 1 && n > 0 && reduceRowFloat(op, x, y, outer, n) {
		return
	}
	// Sums of squares of float32 rows: the vector row distance to a row of
	// zeros (kernels.SqDistF32: float64 squares and sum, in lanes).
	if xs, ok := any(x).([]float32); ok && inner == 1 && n > 0 && (op == redSumSquare || op == redL2) {
		kernels.SqDistF32(any(y).([]float32), xs, n, make([]float32, n), 0, n, op == redL2)
		return
	}
	acc := make([]float64, inner)
	var mx []float64
	if op == redLogSumExp {
		mx = make([]float64, inner)
	}
	for o := 0; o < outer; o++ {
		base := o * n * inner
		if op == redLogSumExp {
			for i := range mx {
				mx[i] = math.Inf(-1)
			}
			for r := 0; r < n; r++ {
				for i, v := range x[base+r*inner : base+(r+1)*inner] {
					mx[i] = math.Max(mx[i], float64(v))
				}
			}
			for i := range mx {
				if math.IsInf(mx[i], 0) {
					mx[i] = 0 // all -inf (or empty): the sum below is 0 or +inf anyway
				}
			}
		}
		var init float64
		switch op {
		case redMax:
			init = math.Inf(-1)
		case redMin:
			init = math.Inf(1)
		case redProd:
			init = 1
		}
		for i := range acc {
			acc[i] = init
		}
		for r := 0; r < n; r++ {
			row := x[base+r*inner : base+(r+1)*inner]
			switch op {
			case redSum, redMean, redLogSum:
				for i, v := range row {
					acc[i] += float64(v)
				}
			case redMax:
				for i, v := range row {
					if f := float64(v); f > acc[i] || f != f {
						acc[i] = f
					}
				}
			case redMin:
				for i, v := range row {
					if f := float64(v); f < acc[i] || f != f {
						acc[i] = f
					}
				}
			case redProd:
				for i, v := range row {
					acc[i] *= float64(v)
				}
			case redL1:
				for i, v := range row {
					acc[i] += math.Abs(float64(v))
				}
			case redL2, redSumSquare:
				for i, v := range row {
					acc[i] += float64(v) * float64(v)
				}
			case redLogSumExp:
				for i, v := range row {
					acc[i] += math.Exp(float64(v) - mx[i])
				}
			}
		}
		dst := y[o*inner : (o+1)*inner]
		for i, a := range acc {
			switch op {
			case redMean:
				a /= float64(n)
			case redL2:
				a = math.Sqrt(a)
			case redLogSum:
				a = math.Log(a)
			case redLogSumExp:
				a = math.Log(a) + mx[i]
			}
			dst[i] = T(a)
		}
	}
}

// reduceRowFloat reduces contiguous rows of n (the last axes: PointNet's max over
// points, a mean over time) for Max, Min, Sum and Mean, with the general loop's
// float64 accumulation and NaN propagation, without its per-element dispatch (the
// general loop re-slices and switches for every element when inner is 1: 2.5 ns
// an element on a [2, 256, 1, 256] max). It reports false for the other operators.
func reduceRowFloat[T floating](op redOp, x, y []T, outer, n int) bool {
	switch op {
	case redMax, redMin:
		// Exact in T: four independent branch-free maxima (the builtin's NaN
		// rule: a NaN anywhere gives NaN). The float64 loop compared and
		// branched per element on one dependency chain, 0.85 ns an element
		// on PointNet's max over 256 points (eighteenth session).
		// float32 maxima fold halves of the row with the vector max of
		// max pooling (kernels.MaxF32: the same NaN rule): the builtin's
		// NaN and signed-zero handling is a dozen instructions an element.
		if xs, ok := any(x).([]float32); ok && op == redMax && n >= rowMaxVecMin {
			ys, buf := any(y).([]float32), make([]float32, n/2)
			for o := range outer {
				ys[o] = rowMaxF32(xs[o*n:(o+1)*n], buf)
			}
			return true
		}
		for o := range outer {
			row := x[o*n : (o+1)*n]
			if op == redMax {
				y[o] = rowMax(row)
			} else {
				y[o] = rowMin(row)
			}
		}
	case redSum, redMean:
		for o := range outer {
			var a float64
			for _, v := range x[o*n : (o+1)*n] {
				a += float64(v)
			}
			if op == redMean {
				a /= float64(n)
			}
			y[o] = T(a)
		}
	default:
		return false
	}
	return true
}

// rowMax is the largest element of a non-empty row (NaN if it holds one).
func rowMax[T floating](row []T) T {
	a0, a1, a2, a3 := row[0], row[0], row[0], row[0]
	i := 0
	for ; i+4 <= len(row); i += 4 {
		a0, a1, a2, a3 = max(a0, row[i]), max(a1, row[i+1]), max(a2, row[i+2]), max(a3, row[i+3])
	}
	for ; i < len(row); i++ {
		a0 = max(a0, row[i])
	}
	return max(a0, a1, a2, a3)
}

// rowMaxVecMin is the shortest row rowMaxF32 folds with vectors.
const rowMaxVecMin = 64

// rowMaxF32 is rowMax of a float32 row of at least rowMaxVecMin elements: the
// elementwise maximum of its two halves into buf (len ≥ len(row)/2), of that
// result's halves, and so on down to a short row; an odd element left over at
// a step joins at the end.
func rowMaxF32(row, buf []float32) float32 {
	h := len(row) / 2
	buf = buf[:h]
	copy(buf, row[:h])
	kernels.MaxF32(buf, row[h:2*h])
	extra := row[len(row)-1] // in the halves too when the length is even
	for len(buf) >= rowMaxVecMin {
		h = len(buf) / 2
		if len(buf)%2 == 1 {
			extra = max(extra, buf[len(buf)-1])
		}
		kernels.MaxF32(buf[:h], buf[h:2*h])
		buf = buf[:h]
	}
	return max(rowMax(buf), extra)
}

// rowMin is rowMax with min.
func rowMin[T floating](row []T) T {
	a0, a1, a2, a3 := row[0], row[0], row[0], row[0]
	i := 0
	for ; i+4 <= len(row); i += 4 {
		a0, a1, a2, a3 = min(a0, row[i]), min(a1, row[i+1]), min(a2, row[i+2]), min(a3, row[i+3])
	}
	for ; i < len(row); i++ {
		a0 = min(a0, row[i])
	}
	return min(a0, a1, a2, a3)
}

// reduceInt reduces integers exactly where the result is an integer; L2, LogSum and
// LogSumExp go through float64 and truncate like a cast.
func reduceInt[T integer](op redOp, x, y []T, outer, n, inner int) {
	switch op {
	case redL2, redLogSum, redLogSumExp:
		xf := make([]float64, len(x))
		for i, v := range x {
			xf[i] = float64(v)
		}
		yf := make([]float64, len(y))
		reduceFloat(op, xf, yf, outer, n, inner)
		for i, v := range yf {
			y[i] = T(v)
		}
		return
	}
	acc := make([]int64, inner)
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for i := range acc {
			switch op {
			case redProd:
				acc[i] = 1
			case redMax, redMin:
				if n > 0 {
					acc[i] = int64(x[base+i])
				} else {
					// An empty reduction: the type's minimum (maximum), as ONNX
					// defines it for types without infinities.
					acc[i] = intExtreme[T](op == redMin)
				}
			default:
				acc[i] = 0
			}
		}
		for r := 0; r < n; r++ {
			row := x[base+r*inner : base+(r+1)*inner]
			switch op {
			case redSum, redMean:
				for i, v := range row {
					acc[i] += int64(v)
				}
			case redMax:
				for i, v := range row {
					acc[i] = max(acc[i], int64(v))
				}
			case redMin:
				for i, v := range row {
					acc[i] = min(acc[i], int64(v))
				}
			case redProd:
				for i, v := range row {
					acc[i] *= int64(v)
				}
			case redL1:
				for i, v := range row {
					a := int64(v)
					if a < 0 {
						a = -a
					}
					acc[i] += a
				}
			case redSumSquare:
				for i, v := range row {
					acc[i] += int64(v) * int64(v)
				}
			}
		}
		dst := y[o*inner : (o+1)*inner]
		for i, a := range acc {
			if op == redMean && n > 0 {
				a /= int64(n)
			}
			dst[i] = T(a)
		}
	}
}

func init() {
	for _, op := range graph.ReduceOps {
		Register(OpInfo{OpType: op, Build: buildReduce})
	}
}

// intExtreme is T's largest value (high) or its smallest.
func intExtreme[T integer](high bool) int64 {
	var z T
	bits := 8 * int(unsafe.Sizeof(z))
	signed := ^z < 0
	switch {
	case signed && high:
		return int64(uint64(1)<<(bits-1) - 1)
	case signed:
		return -int64(uint64(1) << (bits - 1))
	case high && bits == 64:
		return -1 // uint64 max wraps through int64: T(-1) is all ones
	case high:
		return int64(uint64(1)<<bits - 1)
	}
	return 0
}
