package runtime

// Per-channel affine chains (fourteenth session). A model exported with its
// preprocessing takes uint8 pixels and spells x/255 and (x − mean)/std as
// Cast, Div, Sub and Div (torchvision's Normalize, a Keras Rescaling layer,
// tf2onnx's Mul/Add pairs): three or four passes over the image, the Cast a
// scalar conversion into a fresh zeroed slice, each binary step a broadcast
// loop. A chain of such steps, each with a float32 constant that is a scalar
// or varies along one axis only, is one map y = x·a[c] + b[c]; the rewrite
// composes a and b in float64 at session creation and runs the chain as one
// vector pass (kernels.AffineMapU8/I8/F32), reading the uint8 or int8 input
// of a leading Cast directly. The result is rounded once where the chain
// rounded at every step: within a few float32 ulps of it (ONNX Runtime runs
// the steps as written).

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// affineOp is one binary step of a chain: the running value at input xi,
// the constant at the other.
type affineOp struct {
	op     string
	xi     int
	c      *graph.Tensor
	kernel Kernel // the step's own kernel, for the fallback
}

// affineChainKernel runs a fused chain. a and b have one value per channel
// (one value when every constant is a scalar); the channels lie on the
// input's axis rank-1-fromEnd. cast is the absorbed leading Cast's kernel
// (nil without one), kept with the ops for the fallback that runs the steps
// one by one when a run's input does not have the shape the chain was
// composed for.
type affineChainKernel struct {
	a, b      []float32
	fromEnd   int // channel axis counted from the last (0 = last), -1 for scalars
	constRank int // the largest rank of the constants
	cast      Kernel
	ops       []affineOp
}

func (k *affineChainKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	inner, ok := k.geometry(x)
	if !ok {
		return k.fallback(ctx, x)
	}
	y := ctx.AllocF32(x.Len())
	c := len(k.a)
	n := x.Len()
	if d, ok := x.Data.([]float32); ok && inner == 1 && c > 1 {
		// Channels last (ConvNeXt's GRN, a LayerScale): a run of one channel
		// is one element, so the per-run loop below would make one call per
		// element. Whole pixels instead, a and b as vectors along the row.
		pix := n / c
		inf := float32(math.Inf(1))
		nnParallel(min(ctx.Threads, max(1, n/parallelMinWork)), pix, func(lo, hi int) {
			kernels.AffineRowsF32(d[lo*c:hi*c], c, hi-lo, c, k.a, k.b, y[lo*c:hi*c], c, -inf, inf)
		})
		return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
	}
	// One job per run of a channel (or per block of a scalar map).
	run := func(lo, hi int) {
		for lo < hi {
			ch := (lo / inner) % c
			end := min(hi, (lo/inner+1)*inner)
			a, b := k.a[ch], k.b[ch]
			switch d := x.Data.(type) {
			case []uint8:
				kernels.AffineMapU8(y[lo:end], d[lo:end], a, b)
			case []int8:
				kernels.AffineMapI8(y[lo:end], d[lo:end], a, b)
			case []float32:
				kernels.AffineMapF32(y[lo:end], d[lo:end], a, b)
			}
			lo = end
		}
	}
	nnParallel(min(ctx.Threads, max(1, n/parallelMinWork)), n, run)
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}

// geometry returns the length of one channel's contiguous run in x, and
// whether the fused map applies to x (its type is the chain's input type,
// the constants broadcast to x's shape without growing it, and the channel
// count matches).
func (k *affineChainKernel) geometry(x *graph.Tensor) (int, bool) {
	switch x.DType {
	case graph.Uint8, graph.Int8:
		if k.cast == nil {
			return 0, false
		}
	case graph.Float32:
		if k.cast != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	r := len(x.Shape)
	if k.constRank > r {
		return 0, false
	}
	if k.fromEnd < 0 {
		return max(x.Len(), 1), true
	}
	ax := r - 1 - k.fromEnd
	if x.Shape[ax] != len(k.a) {
		return 0, false
	}
	inner := 1
	for _, d := range x.Shape[ax+1:] {
		inner *= d
	}
	return max(inner, 1), true
}

// fallback runs the chain's steps one by one.
func (k *affineChainKernel) fallback(ctx *ExecContext, x *graph.Tensor) ([]*graph.Tensor, error) {
	v := x
	if k.cast != nil {
		out, err := k.cast.Run(ctx, []*graph.Tensor{v})
		if err != nil {
			return nil, err
		}
		v = out[0]
	}
	for _, op := range k.ops {
		ins := []*graph.Tensor{op.c, op.c}
		ins[op.xi] = v
		out, err := op.kernel.Run(ctx, ins)
		if err != nil {
			return nil, fmt.Errorf("fused affine chain, %s: %w", op.op, err)
		}
		v = out[0]
	}
	return []*graph.Tensor{v}, nil
}

// affineStepOp returns the chain op of a step reading the running value x:
// Mul, Add or Sub with a float32 constant on either side, Div by a
// constant; ok is false for anything else.
func (s *Session) affineStepOp(st step, x int) (affineOp, bool) {
	op := st.node.OpType
	if (op != "Mul" && op != "Add" && op != "Sub" && op != "Div") || (st.node.Domain != "" && st.node.Domain != "ai.onnx") ||
		len(st.in) != 2 || len(st.out) != 1 || st.out[0] < 0 || !s.isF32Slot(st.out[0]) {
		return affineOp{}, false
	}
	for xi := 0; xi < 2; xi++ {
		if st.in[xi] != x || st.in[1-xi] == x {
			continue
		}
		c := s.consts[st.in[1-xi]]
		if c == nil || c.DType != graph.Float32 || c.Len() == 0 || op == "Div" && xi == 1 {
			return affineOp{}, false
		}
		return affineOp{op: op, xi: xi, c: c, kernel: st.kernel}, true
	}
	return affineOp{}, false
}

// affineConstAxis returns the axis (counted from the last) along which a constant
// varies, -1 when it is one value, and false when it varies along more
// than one.
func affineConstAxis(c *graph.Tensor) (int, bool) {
	axis := -1
	for i, d := range c.Shape {
		if d != 1 {
			if axis >= 0 {
				return 0, false
			}
			axis = len(c.Shape) - 1 - i
		}
	}
	return axis, true
}

// composeAffine folds the ops into y = a·x + b per channel (c channels, 1
// for scalars), in float64; false when a coefficient is not finite (a
// division by zero, overflow).
func composeAffine(ops []affineOp, c int) (a, b []float32, ok bool) {
	A, B := make([]float64, c), make([]float64, c)
	for i := range A {
		A[i] = 1
	}
	for _, op := range ops {
		v := op.c.F32()
		for i := range A {
			k := float64(v[0])
			if len(v) > 1 {
				k = float64(v[i])
			}
			switch {
			case op.op == "Mul":
				A[i], B[i] = A[i]*k, B[i]*k
			case op.op == "Div":
				A[i], B[i] = A[i]/k, B[i]/k
			case op.op == "Add":
				B[i] += k
			case op.xi == 0: // x − k
				B[i] -= k
			default: // k − x
				A[i], B[i] = -A[i], k-B[i]
			}
		}
	}
	a, b = make([]float32, c), make([]float32, c)
	for i := range A {
		a[i], b[i] = float32(A[i]), float32(B[i])
		if math.IsInf(float64(a[i]), 0) || math.IsNaN(float64(a[i])) || math.IsInf(float64(b[i]), 0) || math.IsNaN(float64(b[i])) {
			return nil, nil, false
		}
	}
	return a, b, true
}

// fuseAffineChains rewrites each chain of two or more such steps, or a Cast
// from uint8 or int8 to float32 followed by one or more, into one
// affineChainKernel step at the chain's last node. No tensor a tap or a
// graph output keeps is fused away.
func (s *Session) fuseAffineChains() {
	readers := s.stepReaders()
	removed := make([]bool, len(s.steps))
	// sole returns the only reader of slot id when id is not kept.
	sole := func(id int) (int, bool) {
		if id < 0 || s.keep[id] {
			return -1, false
		}
		r := readers[id]
		if len(r) != 1 || removed[r[0]] {
			return -1, false
		}
		return r[0], true
	}
	for i, st := range s.steps {
		if removed[i] {
			continue
		}
		x, cur, next := -1, -1, -1
		var cast Kernel
		var members []int
		switch {
		case isOp(st.node, "Cast"):
			if len(st.in) != 1 || st.in[0] < 0 || len(st.out) != 1 || st.out[0] < 0 || !s.isF32Slot(st.out[0]) {
				continue
			}
			v := s.model.Graph.Values[s.nameOf(st.in[0])]
			if v == nil || v.DType != graph.Uint8 && v.DType != graph.Int8 {
				continue
			}
			j, ok := sole(st.out[0])
			if !ok {
				continue
			}
			x, cast, cur, next = st.in[0], st.kernel, st.out[0], j
			members = append(members, i)
		case len(st.in) == 2:
			for _, id := range st.in {
				if id >= 0 && s.consts[id] == nil && s.isF32Slot(id) {
					x = id
					break
				}
			}
			if x < 0 {
				continue
			}
			cur, next = x, i
		default:
			continue
		}
		var ops []affineOp
		last := -1
		for next >= 0 {
			op, ok := s.affineStepOp(s.steps[next], cur)
			if !ok {
				break
			}
			ops = append(ops, op)
			members = append(members, next)
			last, cur = next, s.steps[next].out[0]
			if next, ok = sole(cur); !ok {
				next = -1
			}
		}
		if last < 0 || len(ops) < 2 && cast == nil {
			continue
		}
		k, ok := s.newAffineChain(x, ops, cast)
		if !ok {
			continue
		}
		for _, m := range members {
			removed[m] = true
		}
		removed[last] = false
		s.steps[last] = step{node: s.steps[last].node, kernel: k, in: []int{x}, out: s.steps[last].out}
	}
	s.dropSteps(removed)
}

// newAffineChain checks that the constants share one axis and do not grow
// x (of the rank the graph gives it) and composes the map.
func (s *Session) newAffineChain(x int, ops []affineOp, cast Kernel) (*affineChainKernel, bool) {
	v := s.model.Graph.Values[s.nameOf(x)]
	if v == nil || !v.HasShape {
		return nil, false
	}
	k := &affineChainKernel{fromEnd: -1, cast: cast, ops: ops}
	c := 1
	for _, op := range ops {
		ax, ok := affineConstAxis(op.c)
		if !ok || len(op.c.Shape) > len(v.Shape) {
			return nil, false
		}
		k.constRank = max(k.constRank, len(op.c.Shape))
		if ax < 0 {
			continue
		}
		n := op.c.Shape[len(op.c.Shape)-1-ax]
		if k.fromEnd >= 0 && (ax != k.fromEnd || n != c) {
			return nil, false
		}
		// a static size of x along the axis must be the constant's
		if d := v.Shape[len(v.Shape)-1-ax]; d.Known() && d.Size != n {
			return nil, false
		}
		k.fromEnd, c = ax, n
	}
	a, b, ok := composeAffine(ops, c)
	if !ok {
		return nil, false
	}
	k.a, k.b = a, b
	return k, true
}
