package runtime

// Shared helpers of the reference kernels: a dtype-agnostic view of tensor data for
// data-movement operators (one strided-copy engine serves Transpose, Slice, Expand,
// Tile, DepthToSpace, ...), numpy broadcasting loops for elementwise operators, float16
// conversions, and small accessors for the scalar/shape inputs many operators take.

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// Type sets of the generic kernels.
type (
	integer interface {
		~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64
	}
	floating interface{ ~float32 | ~float64 }
	number   interface{ integer | floating }
)

// isFloatType reports whether T is float32 or float64 (for generic code whose
// semantics differ between integers and floats, e.g. Mod and Div).
func isFloatType[T number]() bool {
	switch any(*new(T)).(type) {
	case float32, float64:
		return true
	}
	return false
}

// buffer is a dtype-agnostic view of a tensor's typed slice. Data-movement kernels are
// written once against it; the generic vec type implements it for every element type.
type buffer interface {
	Len() int
	// Make allocates a buffer of the same element type.
	Make(n int) buffer
	// Copy copies n elements from src[srcOff:] to the receiver at dst.
	Copy(dst int, src buffer, srcOff, n int)
	// CopyStrided copies n elements read from src at srcOff, srcOff+stride, ...
	CopyStrided(dst int, src buffer, srcOff, stride, n int)
	// Fill sets n elements starting at dst to src[srcOff].
	Fill(dst, n int, src buffer, srcOff int)
	// Take sets element dst+i to src[idx[i]] for every i.
	Take(dst int, src buffer, idx []int)
	// Data returns the underlying typed slice.
	Data() any
}

type vec[T any] []T

func (v vec[T]) Len() int          { return len(v) }
func (v vec[T]) Make(n int) buffer { return make(vec[T], n) }
func (v vec[T]) Data() any         { return []T(v) }
func (v vec[T]) Copy(dst int, src buffer, srcOff, n int) {
	copy(v[dst:dst+n], src.(vec[T])[srcOff:srcOff+n])
}

func (v vec[T]) CopyStrided(dst int, src buffer, srcOff, stride, n int) {
	s := src.(vec[T])
	d := v[dst : dst+n]
	for i := range d {
		d[i] = s[srcOff]
		srcOff += stride
	}
}

func (v vec[T]) Fill(dst, n int, src buffer, srcOff int) {
	x := src.(vec[T])[srcOff]
	d := v[dst : dst+n]
	for i := range d {
		d[i] = x
	}
}

func (v vec[T]) Take(dst int, src buffer, idx []int) {
	s := src.(vec[T])
	d := v[dst : dst+len(idx)]
	for i, j := range idx {
		d[i] = s[j]
	}
}

// bufferOf wraps the data of t.
func bufferOf(t *graph.Tensor) (buffer, error) {
	switch d := t.Data.(type) {
	case []float32:
		return vec[float32](d), nil
	case []float64:
		return vec[float64](d), nil
	case []int8:
		return vec[int8](d), nil
	case []uint8:
		return vec[uint8](d), nil
	case []int16:
		return vec[int16](d), nil
	case []uint16:
		return vec[uint16](d), nil
	case []int32:
		return vec[int32](d), nil
	case []uint32:
		return vec[uint32](d), nil
	case []int64:
		return vec[int64](d), nil
	case []uint64:
		return vec[uint64](d), nil
	case []bool:
		return vec[bool](d), nil
	case []string:
		return vec[string](d), nil
	}
	return nil, fmt.Errorf("tensor of %s has no data (%T)", t.DType, t.Data)
}

// checkTensor is graph.CheckTensor: kernels call it on every input so that malformed
// tensors give an error instead of an index panic.
func checkTensor(what string, t *graph.Tensor) error { return graph.CheckTensor(what, t) }

// checkInputs runs checkTensor on the inputs that must be present and reports absent
// optional inputs as nil without error.
func checkInputs(in []*graph.Tensor, required int) error {
	if len(in) < required {
		return fmt.Errorf("expected at least %d inputs, got %d", required, len(in))
	}
	for i, t := range in {
		if t == nil {
			if i < required {
				return fmt.Errorf("input %d is missing", i)
			}
			continue
		}
		// The name is formatted only for the error: a Sprintf per input of
		// every step of every run was a per-run fixed cost (thirteenth
		// session: 30 steps of a 0.1-ms model).
		if checkTensor("", t) != nil {
			return checkTensor(fmt.Sprintf("input %d", i), t)
		}
	}
	return nil
}

// optInput returns input i, or nil when it is absent.
func optInput(in []*graph.Tensor, i int) *graph.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// newFloatTensor allocates a zero float32 tensor.
func newFloatTensor(shape []int) *graph.Tensor { return graph.NewTensor(graph.Float32, shape) }

// view returns a tensor sharing t's data with another shape (Reshape, Flatten, Squeeze,
// Unsqueeze, Identity). Kernels never write their inputs, so sharing is safe.
func view(t *graph.Tensor, shape []int) *graph.Tensor {
	return &graph.Tensor{DType: t.DType, Shape: append([]int{}, shape...), Data: t.Data}
}

// collapseStrided drops size-1 axes and merges adjacent axes that are contiguous with
// respect to every stride set, so that copy loops run over as few, as long rows as
// possible.
func collapseStrided(shape []int, strides ...[]int) ([]int, [][]int) {
	outShape := make([]int, 0, len(shape))
	outStrides := make([][]int, len(strides))
	for i := range shape {
		if shape[i] == 1 {
			continue
		}
		if k := len(outShape) - 1; k >= 0 {
			mergeable := true
			for j, st := range strides {
				if outStrides[j][k] != st[i]*shape[i] {
					mergeable = false
					break
				}
			}
			if mergeable {
				outShape[k] *= shape[i]
				for j, st := range strides {
					outStrides[j][k] = st[i]
				}
				continue
			}
		}
		outShape = append(outShape, shape[i])
		for j, st := range strides {
			outStrides[j] = append(outStrides[j], st[i])
		}
	}
	return outShape, outStrides
}

// stridedCopy fills dst (row-major over shape, starting at dstOff) with the elements
// of src at off + sum(index[i]*strides[i]). Strides may be zero (broadcast) or negative
// (reversed slices). This one primitive implements Transpose, Slice, Expand and every
// other operator that only moves data.
func stridedCopy(dst buffer, dstOff int, shape []int, src buffer, off int, strides []int) {
	n := graph.NumElements(shape)
	if n == 0 {
		return
	}
	cs, cst := collapseStrided(shape, strides)
	if len(cs) == 0 {
		dst.Copy(dstOff, src, off, 1)
		return
	}
	st := cst[0]
	rank := len(cs)
	inner, is := cs[rank-1], st[rank-1]
	idx := make([]int, rank-1)
	d := dstOff
	o := off
	for {
		switch is {
		case 1:
			dst.Copy(d, src, o, inner)
		case 0:
			dst.Fill(d, inner, src, o)
		default:
			dst.CopyStrided(d, src, o, is, inner)
		}
		d += inner
		k := rank - 2
		for ; k >= 0; k-- {
			idx[k]++
			o += st[k]
			if idx[k] < cs[k] {
				break
			}
			o -= st[k] * cs[k]
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// broadcastStrides returns the strides with which an input of shape in is read when
// broadcast to out (0 on broadcast axes). in must be broadcastable to out.
func broadcastStrides(in, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(in) - 1; i >= 0; i-- {
		j := len(out) - len(in) + i
		if in[i] != 1 || out[j] == 1 {
			st[j] = s
		}
		s *= in[i]
	}
	return st
}

// broadcastTo materializes t broadcast to shape (which must be a valid broadcast of
// t's shape).
func broadcastTo(t *graph.Tensor, shape []int) (*graph.Tensor, error) {
	if slices.Equal(t.Shape, shape) {
		return t, nil
	}
	src, err := bufferOf(t)
	if err != nil {
		return nil, err
	}
	if len(t.Shape) > len(shape) {
		return nil, fmt.Errorf("cannot broadcast shape %v to %v", t.Shape, shape)
	}
	for i, d := range t.Shape {
		if od := shape[len(shape)-len(t.Shape)+i]; d != od && d != 1 {
			return nil, fmt.Errorf("cannot broadcast shape %v to %v", t.Shape, shape)
		}
	}
	dst := src.Make(graph.NumElements(shape))
	stridedCopy(dst, 0, shape, src, 0, broadcastStrides(t.Shape, shape))
	return &graph.Tensor{DType: t.DType, Shape: append([]int{}, shape...), Data: dst.Data()}, nil
}

// parallelMinWork is the number of elements (or element-steps of work) below
// which a loop stays on the caller: a round trip through the kernels' thread
// pool costs about a microsecond when its workers are awake, a few thousand
// simple float operations. Above it the loop runs in chunks of at least
// parallelMinWork/2 elements, about four per thread, so that the two threads
// of a 2-core machine share the 7x7 and 14x14 maps of a small CNN too.
const parallelMinWork = 1 << 13

// parallelFor splits [0, n) into chunks and runs f on them on the kernels'
// thread pool (no goroutine or allocation per chunk). Small ranges run inline.
func parallelFor(threads, n int, f func(lo, hi int)) {
	kernels.ParallelRange(n, parallelMinWork/2, threads, f)
}

// rowFunc computes one row of a broadcast binary operation, out[i] = f(x[i*sx],
// y[i*sy]) for every i, where each stride is 1 (a contiguous operand) or 0 (one value
// repeated). Operators with a hand-written rowFunc run their arithmetic inline; others
// go through rowOf and call a function per element.
type rowFunc[T, U any] func(out []U, x []T, sx int, y []T, sy int)

// rowOf makes a rowFunc from an elementwise function.
func rowOf[T, U any](f func(T, T) U) rowFunc[T, U] {
	return func(o []U, x []T, sx int, y []T, sy int) {
		switch {
		case sx == 1 && sy == 1:
			x, y = x[:len(o)], y[:len(o)]
			for i := range o {
				o[i] = f(x[i], y[i])
			}
		case sx == 1:
			x, v := x[:len(o)], y[0]
			for i := range o {
				o[i] = f(x[i], v)
			}
		case sy == 1:
			v, y := x[0], y[:len(o)]
			for i := range o {
				o[i] = f(v, y[i])
			}
		default:
			v := f(x[0], y[0])
			for i := range o {
				o[i] = v
			}
		}
	}
}

// binaryBroadcast computes out[i] = f(a[ia], b[ib]) under numpy broadcasting. out must
// have NumElements(outShape) elements.
func binaryBroadcast[T, U any](threads int, a []T, as []int, b []T, bs []int, out []U, os []int, f func(T, T) U) {
	binaryBroadcastRows(threads, a, as, b, bs, out, os, rowOf(f))
}

// binaryBroadcastRows is binaryBroadcast with a row function. Same shapes and scalar
// operands are one row (split across threads when large); everything else runs a
// strided loop over the collapsed shape whose innermost axis reads each operand with
// stride 0 or 1.
func binaryBroadcastRows[T, U any](threads int, a []T, as []int, b []T, bs []int, out []U, os []int, row rowFunc[T, U]) {
	n := len(out)
	switch {
	case len(a) == n && len(b) == n:
		parallelFor(threads, n, func(lo, hi int) { row(out[lo:hi], a[lo:hi], 1, b[lo:hi], 1) })
		return
	case len(b) == 1 && len(a) == n:
		parallelFor(threads, n, func(lo, hi int) { row(out[lo:hi], a[lo:hi], 1, b, 0) })
		return
	case len(a) == 1 && len(b) == n:
		parallelFor(threads, n, func(lo, hi int) { row(out[lo:hi], a, 0, b[lo:hi], 1) })
		return
	}
	if n == 0 {
		return
	}
	if p, ok := planBroadcast(as, bs, os); ok {
		runPlan(threads, &p, a, b, out, rowsBlock(row))
		return
	}
	shape, st := collapseStrided(os, broadcastStrides(as, os), broadcastStrides(bs, os))
	if len(shape) == 0 {
		row(out[:1], a, 0, b, 0)
		return
	}
	sa, sb := st[0], st[1]
	inner := shape[len(shape)-1]
	rows := n / inner
	if threads <= 1 || n < parallelMinWork {
		broadcastRowRange(a, b, out, shape, sa, sb, row, 0, rows)
		return
	}
	kernels.ParallelRange(rows, max(1, parallelMinWork/2/inner), threads, func(lo, hi int) {
		broadcastRowRange(a, b, out, shape, sa, sb, row, lo, hi)
	})
}

// broadcastRowRange runs rows [r0, r1) of the strided loop of
// binaryBroadcastRows (a row is the innermost axis of the collapsed shape).
func broadcastRowRange[T, U any](a, b []T, out []U, shape, sa, sb []int, row rowFunc[T, U], r0, r1 int) {
	rank := len(shape)
	inner, ia, ib := shape[rank-1], sa[rank-1], sb[rank-1]
	idx := make([]int, rank-1)
	oa, ob := 0, 0
	for k, r := rank-2, r0; k >= 0; k-- {
		idx[k] = r % shape[k]
		r /= shape[k]
		oa += idx[k] * sa[k]
		ob += idx[k] * sb[k]
	}
	for d := r0 * inner; d < r1*inner; d += inner {
		row(out[d:d+inner], a[oa:], ia, b[ob:], ib)
		for k := rank - 2; k >= 0; k-- {
			idx[k]++
			oa += sa[k]
			ob += sb[k]
			if idx[k] < shape[k] {
				break
			}
			oa -= sa[k] * shape[k]
			ob -= sb[k] * shape[k]
			idx[k] = 0
		}
	}
}

// float16 helpers: float16 tensors keep raw bits in []uint16; arithmetic runs in
// float32 and rounds back once, which is what ONNX Runtime's CPU kernels do too.

func f16ToF32Slice(h []uint16) []float32 {
	out := make([]float32, len(h))
	for i, v := range h {
		out[i] = graph.Float16ToFloat32(v)
	}
	return out
}

func f32ToF16Slice(f []float32) []uint16 {
	out := make([]uint16, len(f))
	for i, v := range f {
		out[i] = graph.Float32ToFloat16(v)
	}
	return out
}

// widenHalf returns a float32 copy of a float16 or bfloat16 tensor, and t itself for
// any other dtype.
func widenHalf(t *graph.Tensor) *graph.Tensor {
	if t == nil {
		return nil
	}
	switch t.DType {
	case graph.Float16:
		return &graph.Tensor{DType: graph.Float32, Shape: t.Shape, Data: f16ToF32Slice(t.Data.([]uint16))}
	case graph.BFloat16:
		h := t.Data.([]uint16)
		out := make([]float32, len(h))
		for i, v := range h {
			out[i] = bf16ToF32(v)
		}
		return &graph.Tensor{DType: graph.Float32, Shape: t.Shape, Data: out}
	}
	return t
}

// narrowHalf converts a float32 result back to dt when dt is float16 or bfloat16.
func narrowHalf(t *graph.Tensor, dt graph.DType) *graph.Tensor {
	if t.DType != graph.Float32 {
		return t
	}
	switch dt {
	case graph.Float16:
		return &graph.Tensor{DType: graph.Float16, Shape: t.Shape, Data: f32ToF16Slice(t.Data.([]float32))}
	case graph.BFloat16:
		f := t.Data.([]float32)
		out := make([]uint16, len(f))
		for i, v := range f {
			out[i] = f32ToBF16(v)
		}
		return &graph.Tensor{DType: graph.BFloat16, Shape: t.Shape, Data: out}
	}
	return t
}

func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// f32ToBF16 rounds to nearest even (NaN stays a quiet NaN), as ONNX specifies from
// opset 19 on and as ONNX Runtime does.
func f32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// f64ToF16 converts a float64 to IEEE half precision with a single round to nearest
// even (going through float32 would round twice).
func f64ToF16(f float64) uint16 {
	b := math.Float64bits(f)
	sign := uint16(b>>48) & 0x8000
	if math.IsNaN(f) {
		return sign | 0x7e00
	}
	a := math.Abs(f)
	if a >= 65520 { // rounds to infinity
		return sign | 0x7c00
	}
	if a < 0x1p-25 { // below half the smallest subnormal: rounds to zero
		// exactly 2^-25 rounds to even (zero) as well.
		return sign
	}
	exp := int(b>>52&0x7ff) - 1023
	mant := b&(1<<52-1) | 1<<52 // 53-bit significand with the implicit bit
	var shift uint
	var biased uint64
	if exp < -14 {
		// Subnormal half: the result is r * 2^-24, so the LSB sits at 2^-24.
		shift = uint(28 - exp)
	} else {
		shift = 42 // keep the implicit bit and 10 fraction bits
		biased = uint64(exp+15) << 10
	}
	r := mant >> shift
	rem := mant & (1<<shift - 1)
	half := uint64(1) << (shift - 1)
	if rem > half || (rem == half && r&1 == 1) {
		r++
	}
	if exp < -14 {
		return sign | uint16(r) // r may reach 0x400, which is the smallest normal: correct
	}
	// r includes the implicit bit (0x400..0x800); adding the exponent field carries
	// correctly into the next binade (or to infinity) on overflow.
	return sign | uint16(biased+(r-0x400))
}

// Scalar and shape-input accessors.

// scalarInt64 reads a one-element integer tensor (K of TopK, k of Trilu, ...).
func scalarInt64(t *graph.Tensor, what string) (int64, error) {
	if t.Len() != 1 {
		return 0, fmt.Errorf("%s must have one element, has shape %v", what, t.Shape)
	}
	switch d := t.Data.(type) {
	case []int64:
		return d[0], nil
	case []int32:
		return int64(d[0]), nil
	}
	return 0, fmt.Errorf("%s must be int64 or int32, is %s", what, t.DType)
}

// intsInput reads a 1-D (or scalar) int64/int32 tensor such as a shape, axes or
// repeats input.
func intsInput(t *graph.Tensor, what string) ([]int64, error) {
	if len(t.Shape) > 1 {
		return nil, fmt.Errorf("%s must be 1-D, has shape %v", what, t.Shape)
	}
	switch d := t.Data.(type) {
	case []int64:
		return d, nil
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s must be int64 or int32, is %s", what, t.DType)
}

// maxElements bounds the size of tensors whose shape comes from data (Reshape, Expand,
// ConstantOfShape, Tile, Range), so that a hostile model cannot make one node allocate
// unbounded memory.
const maxElements = 1 << 31

// shapeFromInts validates a shape read from a tensor.
func shapeFromInts(v []int64, what string) ([]int, error) {
	out := make([]int, len(v))
	n := int64(1)
	for i, d := range v {
		if d < 0 {
			return nil, fmt.Errorf("%s %v has a negative dimension", what, v)
		}
		if d != 0 && n > maxElements/d {
			return nil, fmt.Errorf("%s %v has more than %d elements", what, v, int64(maxElements))
		}
		n *= d
		out[i] = int(d)
	}
	return out, nil
}

// checkSize refuses output shapes beyond maxElements.
func checkSize(shape []int, what string) error {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("%s %v has a negative dimension", what, shape)
		}
		if d != 0 && n > maxElements/int64(d) {
			return fmt.Errorf("%s %v has more than %d elements", what, shape, int64(maxElements))
		}
		n *= int64(d)
	}
	return nil
}

// ConstEval returns the evaluator that shape inference folds constant shape
// computations with: pass it as graph.InferOptions{Eval: runtime.ConstEval()}. Every
// package that infers shapes of real models (this one, quantizer, npu, bench, the CLI)
// passes it, so that a Reshape fed by Shape -> Gather -> Concat gets a concrete shape.
func ConstEval() graph.ConstEval { return constEval{} }

// constEval runs one node on constant inputs for shape inference's constant folding
// (graph.FoldConstants). It builds the node's kernel exactly as a session would, so
// folded values and run-time values come from the same code.
type constEval struct{}

func (constEval) EvalConst(n *graph.Node, opset int64, inputs []*graph.Tensor) (outs []*graph.Tensor, err error) {
	info := Lookup(n.Domain, n.OpType)
	if info == nil {
		return nil, nil
	}
	defer func() {
		// Folding is an optimisation of shape inference: a kernel bug must surface as
		// an error naming the operator, not crash model loading.
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("constant folding of %s failed: %v", n.OpType, r)
		}
	}()
	bc := &BuildContext{Node: n, Opset: opset, Consts: inputs, Threads: 1, Outputs: make([]*graph.Value, len(n.Outputs))}
	for _, t := range inputs {
		if err := checkTensor("constant input", t); t != nil && err != nil {
			return nil, err
		}
		if t == nil {
			bc.Inputs = append(bc.Inputs, nil)
			continue
		}
		bc.Inputs = append(bc.Inputs, &graph.Value{DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true})
	}
	k, err := info.Build(bc)
	if err != nil {
		return nil, err
	}
	return k.Run(&ExecContext{Threads: 1}, inputs)
}
