package runtime

// Reference kernels of the operators that reshape or rearrange data: Constant, Shape,
// Size, Flatten, Reshape, Squeeze, Unsqueeze (zero-copy views), Transpose, Expand,
// Tile, DepthToSpace, SpaceToDepth (one strided copy each). The other data-movement
// families: op_slice_concat.go, op_gather_scatter.go, op_index.go, op_generate.go.
// They work on every element type through the buffer abstraction of tensorutil.go.
// Shape rules (Reshape targets, Slice clamping, Split sizes, ...) are the exported
// helpers of package graph, so inferred and computed shapes cannot disagree.

import (
	"fmt"
	"math"

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
func permuted(threads int, x *graph.Tensor, outShape []int, off int, strides []int) (*graph.Tensor, error) {
	if v := contiguousView(x, outShape, off, strides); v != nil { // view_strided.go
		return v, nil
	}
	src, err := bufferOf(x)
	if err != nil {
		return nil, err
	}
	if err := checkSize(outShape, "output shape"); err != nil {
		return nil, err
	}
	dst := src.Make(graph.NumElements(outShape))
	stridedCopyPar(threads, dst, 0, outShape, src, off, strides)
	return &graph.Tensor{DType: x.DType, Shape: append([]int{}, outShape...), Data: dst.Data()}, nil
}

// transposeTensor permutes the axes of x (out axis i is input axis perm[i]).
func transposeTensor(threads int, x *graph.Tensor, perm []int) (*graph.Tensor, error) {
	st := graph.Strides(x.Shape)
	out := make([]int, len(perm))
	ost := make([]int, len(perm))
	for i, p := range perm {
		out[i] = x.Shape[p]
		ost[i] = st[p]
	}
	return permuted(threads, x, out, 0, ost)
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
		out, err := transposeArena(ctx, in[0], perm) // view_strided.go
		if err != nil {
			return nil, err
		}
		return []*graph.Tensor{out}, nil
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
		// From the run's arena (view_strided.go): PointNet's global feature
		// repeated over the points, [2,256,1] to [2,256,256], spent most of its
		// time zeroing and faulting in a fresh 512 KB output.
		t, err := permutedArena(ctx, x, shape6, 0, str6)
		if err != nil {
			return nil, err
		}
		t.Shape = out
		return []*graph.Tensor{t}, nil
	}), nil
}

// ArgMax / ArgMin.

// TopK.

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
		t, err := transposeTensor(ctx.Threads, view(x, six), perm)
		if err != nil {
			return nil, err
		}
		t.Shape = out
		return []*graph.Tensor{t}, nil
	}), nil
}

// CumSum.

func init() {
	Register(OpInfo{OpType: "Constant", Build: buildConstant})
	Register(OpInfo{OpType: "Shape", Build: buildShape})
	Register(OpInfo{OpType: "Size", Build: buildSize})
	Register(OpInfo{OpType: "Flatten", Build: buildFlatten})
	Register(OpInfo{OpType: "Reshape", Build: buildReshape})
	Register(OpInfo{OpType: "Squeeze", Build: buildSqueeze})
	Register(OpInfo{OpType: "Unsqueeze", Build: buildUnsqueeze})
	Register(OpInfo{OpType: "Transpose", Build: buildTranspose})
	Register(OpInfo{OpType: "Expand", Build: buildExpand})
	Register(OpInfo{OpType: "Tile", Build: buildTile})
	Register(OpInfo{OpType: "DepthToSpace", Build: buildSpaceDepth})
	Register(OpInfo{OpType: "SpaceToDepth", Build: buildSpaceDepth})
}
