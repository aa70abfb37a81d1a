package runtime

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// Float32 Relu and broadcasting arithmetic with their output from the run's
// arena: a fresh make() of a feature map is zeroed by the calling thread (and
// page-faulted on first touch) before the split loop starts, which kept these
// steps serial at 2 threads (RegNet's unfused Relu and squeeze-excite Mul
// after its NCHW grouped convolutions).

// unaryActs are the float32 unary operators with a vector kernel (kernels.ActF32):
// not float64 math per element (math.Tanh 7 ns, the exp of Sigmoid about as much:
// the Tanh steps of a super-resolution net cost more than its convolutions, and
// the Sigmoid of a YOLO Detect head over [1,3,80,80,85] took 14 ms, more than any
// of the detector's convolutions). ActF32 gives an element the same bits wherever
// a thread split or a calibration piece cuts the tensor.
var unaryActs = map[string]kernels.Act{
	"Tanh": kernels.ActTanh, "Sigmoid": kernels.ActSigmoid, "HardSwish": kernels.ActHardSwish,
}

// unaryF32Arena runs Relu, Tanh, Sigmoid or HardSwish on a float32 tensor; ok is
// false for anything else.
func unaryF32Arena(ctx *ExecContext, n *graph.Node, x *graph.Tensor) (*graph.Tensor, bool) {
	act, vec := unaryActs[n.OpType]
	if (n.OpType != "Relu" && !vec) || n.Domain != "" || x.DType != graph.Float32 {
		return nil, false
	}
	xd := x.F32()
	out := ctx.AllocF32(len(xd))
	if vec {
		parallelFor(ctx.Threads, len(xd), func(lo, hi int) { kernels.ActF32(act, out[lo:hi], xd[lo:hi]) })
		return &graph.Tensor{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: out}, true
	}
	parallelFor(ctx.Threads, len(xd), func(lo, hi int) {
		s, o := xd[lo:hi], out[lo:hi]
		for i, v := range s {
			o[i] = max(v, 0)
		}
	})
	return &graph.Tensor{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: out}, true
}

// arithF32Arena runs Add, Sub, Mul or Div of two float32 tensors; ok is false
// for anything else (and for shapes that do not broadcast, which arith
// reports).
func arithF32Arena(ctx *ExecContext, n *graph.Node, a, b *graph.Tensor) (*graph.Tensor, bool) {
	if a.DType != graph.Float32 || b.DType != graph.Float32 {
		return nil, false
	}
	row := arithRow[float32](n.OpType)
	if row == nil {
		return nil, false
	}
	os, err := graph.BroadcastInts(a.Shape, b.Shape)
	if err != nil {
		return nil, false
	}
	out := ctx.AllocF32(graph.NumElements(os))
	binaryBroadcastRows(ctx.Threads, a.F32(), a.Shape, b.F32(), b.Shape, out, os, row)
	return &graph.Tensor{DType: graph.Float32, Shape: os, Data: out}, true
}
