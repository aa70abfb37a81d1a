package runtime

import (
	"math"

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
// Softplus, Softsign and the parametrised Elu, Celu, Selu and HardSigmoid
// (kernels/acts.go; twelfth session) were float64 math too: Softplus, Celu,
// Selu and Elu over [1,32,24,24] took 0.9 of 1.26 ms of acts_op17.
var unaryActs = map[string]kernels.Act{
	"Tanh": kernels.ActTanh, "Sigmoid": kernels.ActSigmoid, "HardSwish": kernels.ActHardSwish,
	"Softplus": kernels.ActSoftplus, "Softsign": kernels.ActSoftsign, "Mish": kernels.ActMish,
}

// unaryVecF32 returns the vector kernel of a float32 unary operator (nil if
// it has none): an Act, or the ELU family and HardSigmoid with the node's
// parameters.
func unaryVecF32(n *graph.Node) func(dst, src []float32) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return nil
	}
	if act, ok := unaryActs[n.OpType]; ok {
		return func(d, s []float32) { kernels.ActF32(act, d, s) }
	}
	var p kernels.ELU
	switch n.OpType {
	case "Elu":
		p = kernels.EluParams(n.AttrFloat("alpha", 1))
	case "Selu":
		p = kernels.SeluParams(n.AttrFloat("alpha", kernels.SeluAlpha), n.AttrFloat("gamma", kernels.SeluGamma))
	case "Celu":
		var ok bool
		if p, ok = kernels.CeluParams(n.AttrFloat("alpha", 1)); !ok {
			return nil
		}
	case "Gelu": // the opset-20 operator; its tanh approximation keeps the generic path
		if n.AttrString("approximate", "none") == "none" {
			return func(d, s []float32) { kernels.ActF32(kernels.ActGELU, d, s) }
		}
		return nil
	case "Sin":
		// Vector kernels (kernels/trig.go; eighteenth session): math.Sin per
		// element took 21-23 ns, most of a coordinate network's float32 time.
		return kernels.SinF32
	case "Cos":
		return kernels.CosF32
	case "Exp":
		return kernels.ExpF32
	case "HardSigmoid":
		a, b := n.AttrFloat("alpha", 0.2), n.AttrFloat("beta", 0.5)
		return func(d, s []float32) { kernels.HardSigmoidF32(d, s, a, b) }
	case "Neg":
		// Exact; the generic path called a function value per element.
		return func(d, s []float32) {
			s = s[:len(d)]
			for i, v := range s {
				d[i] = -v
			}
		}
	case "Abs":
		// The generic closure's comparison (-0 stays -0, NaN unchanged).
		return func(d, s []float32) {
			s = s[:len(d)]
			for i, v := range s {
				if v < 0 {
					v = -v
				}
				d[i] = v
			}
		}
	case "LeakyRelu":
		// The same product as the generic closure (thirteenth session: it
		// ran per element through a function value).
		act := kernels.LeakyReluAct(n.AttrFloat("alpha", 0.01))
		return func(d, s []float32) { kernels.ActF32(act, d, s) }
	default:
		return nil
	}
	return func(d, s []float32) { kernels.ELUF32(d, s, p) }
}

// unaryF32Arena runs Relu or an operator with a vector kernel (vec, from
// unaryVecF32) on a float32 tensor; ok is false for anything else.
func unaryF32Arena(ctx *ExecContext, n *graph.Node, vec func(dst, src []float32), x *graph.Tensor) (*graph.Tensor, bool) {
	if x.DType != graph.Float32 || n.Domain != "" || n.OpType != "Relu" && vec == nil {
		return nil, false
	}
	xd := x.F32()
	out := ctx.AllocF32(len(xd))
	if vec != nil {
		// Any cut gives the same bits (the kernels pad their tails).
		parallelFor(ctx.Threads, len(xd), func(lo, hi int) { vec(out[lo:hi], xd[lo:hi]) })
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
	binaryF32(ctx.Threads, n.OpType, row, a.F32(), a.Shape, b.F32(), b.Shape, out, os)
	return &graph.Tensor{DType: graph.Float32, Shape: os, Data: out}, true
}

// binaryF32 computes a float32 broadcasting operator on the block kernels
// (broadcast_plan.go) when it has one, with its row function otherwise.
func binaryF32(threads int, op string, row rowFunc[float32, float32], a []float32, as []int, b []float32, bs []int, out []float32, os []int) {
	if bop, ok := binF32Op(op); ok && broadcastF32(threads, bop, a, as, b, bs, out, os) {
		return
	}
	binaryBroadcastRows(threads, a, as, b, bs, out, os, row)
}

// variadicF32Arena runs Sum, Mean, Max or Min of two or more float32 inputs
// into the arena with the row loops of arithRow, folding left to right as the
// generic path does (Mean divides the sum by float32(len(in)) last), so the
// bits are the generic path's. paddle2onnx writes them variadic over three
// [1,8,16,16] maps; the generic fold called a function value per element and
// made each intermediate with make(). ok is false for other types, a single
// input, and shapes that do not broadcast (the generic path reports those).
func variadicF32Arena(ctx *ExecContext, n *graph.Node, in []*graph.Tensor) (*graph.Tensor, bool) {
	if len(in) < 2 {
		return nil, false
	}
	for _, t := range in {
		if t.DType != graph.Float32 {
			return nil, false
		}
	}
	row := arithRow[float32](n.OpType)
	if row == nil {
		return nil, false
	}
	acc := in[0]
	for _, t := range in[1:] {
		os, err := graph.BroadcastInts(acc.Shape, t.Shape)
		if err != nil {
			return nil, false
		}
		out := ctx.AllocF32(graph.NumElements(os))
		binaryF32(ctx.Threads, n.OpType, row, acc.F32(), acc.Shape, t.F32(), t.Shape, out, os)
		acc = &graph.Tensor{DType: graph.Float32, Shape: os, Data: out}
	}
	if n.OpType == "Mean" {
		// In place: acc is a fresh arena buffer here.
		d, c := acc.F32(), []float32{float32(len(in))}
		parallelFor(ctx.Threads, len(d), func(lo, hi int) { arithRow[float32]("Div")(d[lo:hi], d[lo:hi], 1, c, 0) })
	}
	return acc, true
}

// clipF32Arena runs a float32 Clip with one-element (or absent) bounds into
// the arena on kernels.ClampF32: the generic path's per-element closure took 7
// ns an element (tf2onnx's Relu6 Clips after its Transposes were sunk: 0.16
// of 0.35 ms). The comparisons are the generic path's (NaN and -0 kept; min >
// max gives max); ok is false for other types or bounds.
func clipF32Arena(ctx *ExecContext, x, minT, maxT *graph.Tensor, attrLo, attrHi float32, attrs bool) (*graph.Tensor, bool) {
	if x.DType != graph.Float32 {
		return nil, false
	}
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if attrs {
		lo, hi = attrLo, attrHi
	}
	for i, b := range []*graph.Tensor{minT, maxT} {
		if b == nil {
			continue
		}
		if b.DType != graph.Float32 || len(b.F32()) != 1 {
			return nil, false // the generic path reports it
		}
		if i == 0 {
			lo = b.F32()[0]
		} else {
			hi = b.F32()[0]
		}
	}
	xd := x.F32()
	out := ctx.AllocF32(len(xd))
	parallelFor(ctx.Threads, len(xd), func(a, b int) { kernels.ClampF32(out[a:b], xd[a:b], lo, hi) })
	return &graph.Tensor{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: out}, true
}
