package runtime

// Reference kernels of Concat, Split, Slice and Compress: copies of contiguous runs
// along one axis.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

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
		outer := graph.NumElements(out[:a])
		inner := graph.NumElements(out[a+1:])
		rowOut := out[a] * inner
		if first.DType == graph.Float32 {
			// parallel_copy.go: the output from the run's arena, typed copies.
			dst := ctx.AllocF32(graph.NumElements(out))
			srcs := make([][]float32, len(in))
			rows := make([]int, len(in))
			for i, t := range in {
				srcs[i], rows[i] = t.F32(), t.Shape[a]*inner
			}
			concatCopyF32(ctx.Threads, dst, srcs, rows, outer, rowOut)
			return []*graph.Tensor{{DType: graph.Float32, Shape: out, Data: dst}}, nil
		}
		src0, err := bufferOf(first)
		if err != nil {
			return nil, err
		}
		dst := src0.Make(graph.NumElements(out))
		srcs := make([]buffer, len(in))
		rows := make([]int, len(in))
		for i, t := range in {
			if srcs[i], err = bufferOf(t); err != nil {
				return nil, err
			}
			rows[i] = t.Shape[a] * inner
		}
		concatCopy(ctx.Threads, dst, srcs, rows, outer, rowOut)
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
		sizes, err := graph.SplitNodeSizes(b.Node, x.Shape[a], split)
		if err != nil {
			return nil, err
		}
		outs := make([]*graph.Tensor, nout)
		inner := graph.NumElements(x.Shape[a+1:])
		strides := graph.Strides(x.Shape)
		off := 0
		for i, sz := range sizes {
			shape := append([]int{}, x.Shape...)
			shape[a] = sz
			// Each part as Slice takes it (view_strided.go): a view where
			// its range is contiguous (a split of the leading axis, or of
			// the channels at batch 1), else a copy into the run's arena,
			// not a fresh allocation (slicenet's channel Split made 115 KB
			// of garbage a run; eighteenth session).
			o := off
			if graph.NumElements(shape) == 0 {
				o = 0
			}
			t, err := permutedArena(ctx, x, shape, o, strides)
			if err != nil {
				return nil, err
			}
			outs[i] = t
			off += sz * inner
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
		r, err := permutedArena(ctx, x, out, off, ostr) // view_strided.go
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{r}, nil
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

func init() {
	Register(OpInfo{OpType: "Concat", Build: buildConcat})
	Register(OpInfo{OpType: "Split", Build: buildSplit})
	Register(OpInfo{OpType: "Slice", Build: buildSlice})
	Register(OpInfo{OpType: "Compress", Build: buildCompress})
}
