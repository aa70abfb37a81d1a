package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// gemmOp is Gemm (transA = 0) and MatMul with a 2-D right-hand side: y = alpha*A*op(B)
// + beta*C, A flattened to rows [M, K]. B is a fake-quantized weight or an activation.
type gemmOp struct {
	node        string
	in, out     int
	bSlot       int // activation B (when w is nil)
	w           *weightRef
	c           *biasRef
	transB      bool
	alpha, beta float32
	k, nOut     int
	dyS, dc     []float32
}

func buildGemm(b *builder, node *graph.Node) (built, error) {
	if node.AttrInt("transA", 0) != 0 {
		return built{}, fmt.Errorf("%w: Gemm with transA=1", ErrNoGradient)
	}
	o := &gemmOp{node: node.Label(), transB: node.AttrInt("transB", 0) != 0,
		alpha: node.AttrFloat("alpha", 1), beta: node.AttrFloat("beta", 1)}
	return o.build(b, node, true)
}

func buildMatMul(b *builder, node *graph.Node) (built, error) {
	if isBatchedMatMul(b, node) {
		return buildBatchedMatMul(b, node)
	}
	o := &gemmOp{node: node.Label(), alpha: 1, beta: 1}
	return o.build(b, node, false)
}

func (o *gemmOp) build(b *builder, node *graph.Node, gemm bool) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o.in, o.bSlot = in, -1
	var bshape []int
	if t := b.g.Initializers[node.Input(1)]; t != nil {
		if o.w, err = b.weight(node.Input(1)); err != nil {
			return built{}, fmt.Errorf("weight: %w", err)
		}
		bshape = o.w.p.Shape
	} else {
		if o.bSlot, err = b.input(node, node.Input(1)); err != nil {
			return built{}, err
		}
		v := b.g.Values[node.Input(1)]
		if v == nil || !v.HasShape {
			return built{}, fmt.Errorf("%w: input B %q has no known shape", ErrNoGradient, node.Input(1))
		}
		bshape, _ = v.Shape.Concrete()
	}
	if len(bshape) != 2 {
		return built{}, fmt.Errorf("%w: right-hand side of shape %v (only 2-D B is supported)", ErrNoGradient, bshape)
	}
	o.k, o.nOut = bshape[0], bshape[1]
	if o.transB {
		o.k, o.nOut = bshape[1], bshape[0]
	}
	if gemm && node.Input(2) != "" {
		if b.g.Initializers[node.Input(2)] == nil {
			return built{}, fmt.Errorf("%w: Gemm bias C %q is not an initializer", ErrNoGradient, node.Input(2))
		}
		if o.c, err = b.biasOf(node.Input(2), in); err != nil {
			return built{}, fmt.Errorf("bias: %w", err)
		}
		if l := len(o.c.p.W); l != o.nOut && l != 1 {
			return built{}, fmt.Errorf("%w: bias C of shape %v (one value per output column is supported)", ErrNoGradient, o.c.p.Shape)
		}
		if o.w == nil || !o.w.quant || o.alpha != 1 || len(o.c.p.W) != o.nOut {
			o.c.quant = false
		}
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *gemmOp) label() string { return o.node }

func (o *gemmOp) bData(n *Net) []float32 {
	if o.w != nil {
		return o.w.eff
	}
	return n.vals[o.bSlot].data
}

func (o *gemmOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	if len(x.shape) < 1 || x.shape[len(x.shape)-1] != o.k {
		return fmt.Errorf("input shape %v, want [..., %d]", x.shape, o.k)
	}
	m := len(x.data) / o.k
	shape := append(append([]int(nil), x.shape[:len(x.shape)-1]...), o.nOut)
	y.resize(shape)
	if o.w != nil {
		o.w.prepare(n)
	} else if len(n.vals[o.bSlot].data) != o.k*o.nOut {
		return fmt.Errorf("B has shape %v, want %d values", n.vals[o.bSlot].shape, o.k*o.nOut)
	}
	ldb := o.nOut
	if o.transB {
		ldb = o.k
	}
	kernels.Sgemm(false, o.transB, m, o.nOut, o.k, x.data, o.k, o.bData(n), ldb, y.data, o.nOut, false, n.threads)
	var c []float32
	if o.c != nil {
		if o.w != nil {
			c = o.c.prepare(o.w)
		} else {
			c = o.c.p.W
		}
	}
	if o.alpha != 1 || c != nil {
		for r := 0; r < m; r++ {
			row := y.data[r*o.nOut : (r+1)*o.nOut]
			for j := range row {
				v := o.alpha * row[j]
				if c != nil {
					v += o.beta * c[j%len(c)]
				}
				row[j] = v
			}
		}
	}
	return nil
}

func (o *gemmOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	m := len(x.data) / o.k
	dy := y.grad
	if o.alpha != 1 {
		o.dyS = grow(o.dyS, len(dy))
		for i, v := range dy {
			o.dyS[i] = v * o.alpha
		}
		dy = o.dyS
	}
	bd := o.bData(n)
	if x.grad != nil {
		if o.transB { // B [N, K]
			kernels.Sgemm(false, false, m, o.k, o.nOut, dy, o.nOut, bd, o.k, x.grad, o.k, true, n.threads)
		} else { // B [K, N]
			kernels.Sgemm(false, true, m, o.k, o.nOut, dy, o.nOut, bd, o.nOut, x.grad, o.k, true, n.threads)
		}
	}
	var db []float32
	if o.w != nil {
		db = o.w.grad()
	} else {
		db = n.vals[o.bSlot].grad
	}
	if db != nil {
		if o.transB {
			kernels.Sgemm(true, false, o.nOut, o.k, m, dy, o.nOut, x.data, o.k, db, o.k, true, n.threads)
		} else {
			kernels.Sgemm(true, false, o.k, o.nOut, m, x.data, o.k, dy, o.nOut, db, o.nOut, true, n.threads)
		}
	}
	if o.w != nil {
		o.w.flush()
	}
	if o.c != nil {
		g := o.c.p.G
		for r := 0; r < m; r++ {
			for j, v := range y.grad[r*o.nOut : (r+1)*o.nOut] {
				g[j%len(g)] += o.beta * v
			}
		}
	}
}
