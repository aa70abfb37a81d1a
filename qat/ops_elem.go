package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// unaryOp is Relu, Clip, LeakyRelu or Sigmoid.
type unaryOp struct {
	node    string
	kind    string
	in, out int
	lo, hi  float32 // Clip bounds
	alpha   float32 // LeakyRelu slope
	// writeGrad (Relu, Clip): the only reader of in, so backward writes in's
	// gradient (not cleared by Backward) instead of adding to it.
	writeGrad bool
	// fq (Relu): the fake quantization this Relu is fused into (net.go,
	// fuseReluFakeQuant); the Relu does nothing while the fusion is active.
	fq *fqOp
}

func buildUnary(b *builder, node *graph.Node) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &unaryOp{node: node.Label(), kind: node.OpType, in: in, out: b.slot(),
		lo: float32(math.Inf(-1)), hi: float32(math.Inf(1)), alpha: node.AttrFloat("alpha", 0.01)}
	if node.OpType == "Clip" {
		if node.HasAttr("min") {
			o.lo = node.AttrFloat("min", o.lo)
		}
		if node.HasAttr("max") {
			o.hi = node.AttrFloat("max", o.hi)
		}
		for i, dst := range []*float32{&o.lo, &o.hi} {
			name := node.Input(i + 1)
			if name == "" {
				continue
			}
			t := b.g.Initializers[name]
			if t == nil || t.DType != graph.Float32 || len(t.F32()) != 1 {
				return built{}, fmt.Errorf("%w: Clip bound %q is not a float32 scalar constant", ErrNoGradient, name)
			}
			*dst = t.F32()[0]
		}
	}
	return built{o, o.out}, nil
}

func (o *unaryOp) label() string { return o.node }

func (o *unaryOp) forward(n *Net) error {
	if o.fq != nil && o.fq.fusedRelu(n) {
		return nil
	}
	x, y := n.vals[o.in], n.vals[o.out]
	y.resize(x.shape)
	parallel(len(x.data), n.threads, func(lo, hi int) { o.forwardRange(x.data[lo:hi], y.data[lo:hi]) })
	return nil
}

func (o *unaryOp) forwardRange(xs, ys []float32) {
	switch o.kind {
	case "Relu":
		for i, v := range xs {
			ys[i] = max(v, 0)
		}
	case "Clip":
		for i, v := range xs {
			ys[i] = min(max(v, o.lo), o.hi)
		}
	case "LeakyRelu":
		for i, v := range xs {
			if v < 0 {
				v *= o.alpha
			}
			ys[i] = v
		}
	case "Sigmoid":
		for i, v := range xs {
			ys[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}
}

func (o *unaryOp) backward(n *Net) {
	if o.fq != nil && o.fq.fusedRelu(n) {
		return
	}
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	parallel(len(x.data), n.threads, func(lo, hi int) {
		o.backwardRange(x.data[lo:hi], y.data[lo:hi], y.grad[lo:hi], x.grad[lo:hi])
	})
}

func (o *unaryOp) backwardRange(xs, ys, dy, dx []float32) {
	switch o.kind {
	case "Relu":
		// Branch-free (the signs of a Relu's inputs are a coin toss for the branch
		// predictor): the gradient's bits masked where x is not in (0, +Inf], the
		// bit patterns 1 to 0x7f800000 (so NaN passes nothing, as x > 0 would).
		// x in (0, +Inf] (NaN passes nothing, as x > 0 would), vectorised and
		// branch-free (the signs of a Relu's inputs are a coin toss for a branch).
		o.ste(xs[:len(dy)], dy, dx, math.SmallestNonzeroFloat32, float32(math.Inf(1)))
	case "Clip":
		o.ste(xs[:len(dy)], dy, dx, o.lo, o.hi)
	case "LeakyRelu":
		for i, g := range dy {
			if xs[i] < 0 {
				g *= o.alpha
			}
			dx[i] += g
		}
	case "Sigmoid":
		for i, g := range dy {
			s := ys[i]
			dx[i] += g * s * (1 - s)
		}
	}
}

// ste passes dy to dx where lo <= x <= hi.
func (o *unaryOp) ste(xs, dy, dx []float32, lo, hi float32) {
	if o.writeGrad {
		kernels.STESetF32(xs, dy, dx, lo, hi)
		return
	}
	kernels.STEAddF32(xs, dy, dx, lo, hi)
}

// binaryOp is Add, Sub, Mul, Div or Mod (fmod=1) with numpy broadcasting.
type binaryOp struct {
	node      string
	kind      string
	a, b, out int
	// per output element, the index into a and b (nil when the shapes are equal)
	ia, ib []int32
	shapeA []int
	shapeB []int
	// writeA, writeB: the only reader of a (b), so backward writes its gradient
	// (not cleared by Backward) instead of adding to it (markWrittenGrads).
	writeA, writeB bool
	// Add only (fuse_add.go): fq[0], fq[1] are the fake quantizations that
	// compute a and b, read by nothing else, done in this op's pass; rangeOf
	// is the fake quantization whose EMA range takes this op's output min/max
	// (hasMinMax: computed this step, into minLo, maxHi).
	fq                [2]*fqOp
	rangeOf           *fqOp
	hasMinMax         bool
	minLo, maxHi      float32
	scratch, los, his []float32
}

func buildBinary(b *builder, node *graph.Node) (built, error) {
	a, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	c, err := b.input(node, node.Input(1))
	if err != nil {
		return built{}, err
	}
	if node.OpType == "Mod" && node.AttrInt("fmod", 0) == 0 {
		// the runtime's float Mod is C's fmod only, as ONNX defines it for floats
		return built{}, fmt.Errorf("floating-point Mod needs fmod=1")
	}
	o := &binaryOp{node: node.Label(), kind: node.OpType, a: a, b: c, out: b.slot()}
	return built{o, o.out}, nil
}

func (o *binaryOp) label() string { return o.node }

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// broadcastIndex returns the output shape and, for each output element, the index of
// the element of a and of b it reads.
func broadcastIndex(sa, sb []int) ([]int, []int32, []int32, error) {
	r := max(len(sa), len(sb))
	pad := func(s []int) []int {
		out := make([]int, r)
		for i := range out {
			out[i] = 1
		}
		copy(out[r-len(s):], s)
		return out
	}
	pa, pb := pad(sa), pad(sb)
	out := make([]int, r)
	for i := range out {
		switch {
		case pa[i] == pb[i], pb[i] == 1:
			out[i] = pa[i]
		case pa[i] == 1:
			out[i] = pb[i]
		default:
			return nil, nil, nil, fmt.Errorf("shapes %v and %v do not broadcast", sa, sb)
		}
	}
	strides := func(p []int) []int {
		st := make([]int, r)
		s := 1
		for i := r - 1; i >= 0; i-- {
			if p[i] != 1 {
				st[i] = s
			}
			s *= p[i]
		}
		return st
	}
	sta, stb := strides(pa), strides(pb)
	total := numel(out)
	ia, ib := make([]int32, total), make([]int32, total)
	idx := make([]int, r)
	for e := 0; e < total; e++ {
		var x, y int
		for d := 0; d < r; d++ {
			x += idx[d] * sta[d]
			y += idx[d] * stb[d]
		}
		ia[e], ib[e] = int32(x), int32(y)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < out[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, ia, ib, nil
}

func (o *binaryOp) forward(n *Net) error {
	a, b, y := n.vals[o.a], n.vals[o.b], n.vals[o.out]
	o.hasMinMax = false
	if equalShape(a.shape, b.shape) {
		o.ia, o.ib = nil, nil
		y.resize(a.shape)
		if o.kind == "Add" && (o.fq[0] != nil || o.fq[1] != nil || o.rangeOf != nil) {
			o.forwardAdd(n, y)
			return nil
		}
		parallel(len(y.data), n.threads, func(lo, hi int) {
			o.applyRange(a.data[lo:hi], b.data[lo:hi], y.data[lo:hi])
		})
		return nil
	}
	o.materializeFakeQuant(n)
	if o.ia == nil || !equalShape(o.shapeA, a.shape) || !equalShape(o.shapeB, b.shape) {
		shape, ia, ib, err := broadcastIndex(a.shape, b.shape)
		if err != nil {
			return err
		}
		o.ia, o.ib = ia, ib
		o.shapeA, o.shapeB = append([]int(nil), a.shape...), append([]int(nil), b.shape...)
		y.resize(shape)
	} else {
		y.resize(y.shape)
	}
	for i := range y.data {
		y.data[i] = o.apply(a.data[o.ia[i]], b.data[o.ib[i]])
	}
	return nil
}

func (o *binaryOp) apply(x, y float32) float32 {
	switch o.kind {
	case "Add":
		return x + y
	case "Sub":
		return x - y
	case "Div":
		return x / y
	case "Mod":
		return float32(math.Mod(float64(x), float64(y)))
	}
	return x * y
}

// applyRange is apply over equal-shaped operands, with the operator chosen once.
func (o *binaryOp) applyRange(as, bs, ys []float32) {
	bs, ys = bs[:len(as)], ys[:len(as)]
	switch o.kind {
	case "Add":
		kernels.SumF32(ys, as, bs)
	case "Sub":
		for i, v := range as {
			ys[i] = v - bs[i]
		}
	case "Div":
		for i, v := range as {
			ys[i] = v / bs[i]
		}
	case "Mod":
		for i, v := range as {
			ys[i] = o.apply(v, bs[i])
		}
	default:
		for i, v := range as {
			ys[i] = v * bs[i]
		}
	}
}

func (o *binaryOp) backward(n *Net) {
	a, b, y := n.vals[o.a], n.vals[o.b], n.vals[o.out]
	if o.ia == nil && o.kind == "Add" && (o.fq[0] != nil || o.fq[1] != nil) {
		o.backwardAdd(n, y.grad)
		return
	}
	if o.ia == nil && (o.kind == "Add" || o.kind == "Sub") && o.a != o.b {
		// The gradient passes to each operand unchanged (negated for Sub's second).
		parallel(len(y.grad), n.threads, func(lo, hi int) {
			g := y.grad[lo:hi]
			if a.grad != nil {
				if o.writeA {
					setTo(a.grad[lo:hi], g)
				} else {
					addTo(a.grad[lo:hi], g)
				}
			}
			if b.grad != nil {
				db := b.grad[lo:hi]
				switch {
				case o.kind == "Add" && o.writeB:
					setTo(db, g)
				case o.kind == "Add":
					addTo(db, g)
				default:
					if o.writeB {
						clear(db)
					}
					for i, v := range g {
						db[i] += -v
					}
				}
			}
		})
		return
	}
	// a written gradient is accumulated here over the broadcast
	if o.writeA && a.grad != nil {
		clear(a.grad)
	}
	if o.writeB && b.grad != nil {
		clear(b.grad)
	}
	for i, g := range y.grad {
		if g == 0 {
			// nothing to pass back, and a singular local derivative (a Div by a
			// denominator the int8 grid rounded to 0, whose result the next fake
			// quantization clamped) would turn 0·∞ into NaN
			continue
		}
		ai, bi := i, i
		if o.ia != nil {
			ai, bi = int(o.ia[i]), int(o.ib[i])
		}
		var ga, gb float32
		switch o.kind {
		case "Add":
			ga, gb = g, g
		case "Sub":
			ga, gb = g, -g
		case "Div":
			q := 1 / b.data[bi]
			ga, gb = g*q, -g*a.data[ai]*q*q
		case "Mod":
			// x - y·trunc(x/y): slope 1 in x, -trunc(x/y) in y (between the jumps)
			ga, gb = g, -g*float32(math.Trunc(float64(a.data[ai])/float64(b.data[bi])))
		default:
			ga, gb = g*b.data[bi], g*a.data[ai]
		}
		if a.grad != nil {
			a.grad[ai] += ga
		}
		if b.grad != nil {
			b.grad[bi] += gb
		}
	}
}
