package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// bmmOp is a batched MatMul of two N-D tensors (attention's Q*K^T and A*V as
// torch.onnx writes them: [N, heads, T, d] x [N, heads, d, T]): numpy broadcasting
// over the leading dimensions, one float GEMM per matrix pair. Both sides are
// activations (or constants read through builder.input), so the right-hand side gets
// per-tensor fake quantization from the plan like any activation, as the int8
// runtime's MatMulInteger of two activations computes it.
type bmmOp struct {
	node       string
	a, b, out  int
	m, k, n    int
	batch      int
	aOff, bOff []int // per output matrix, the offset of its A and B matrices
}

// isBatchedMatMul says whether MatMul node needs bmmOp: B is not a weight and is not
// known to be 2-D.
func isBatchedMatMul(b *builder, node *graph.Node) bool {
	if node.OpType != "MatMul" || b.g.Initializers[node.Input(1)] != nil {
		return false
	}
	v := b.g.Values[node.Input(1)]
	if v != nil && v.HasShape && len(v.Shape) == 2 {
		if _, ok := v.Shape.Concrete(); ok {
			return false
		}
	}
	return true
}

func buildBatchedMatMul(b *builder, node *graph.Node) (built, error) {
	o := &bmmOp{node: node.Label()}
	var err error
	if o.a, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	if o.b, err = b.input(node, node.Input(1)); err != nil {
		return built{}, err
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *bmmOp) label() string { return o.node }

// plan works out the broadcast of the leading dimensions and the output shape.
func (o *bmmOp) plan(as, bs []int) ([]int, error) {
	if len(as) < 2 || len(bs) < 2 {
		return nil, fmt.Errorf("%w: MatMul of shapes %v and %v (1-D operands are not supported)", ErrNoGradient, as, bs)
	}
	o.m, o.k, o.n = as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	if bs[len(bs)-2] != o.k {
		return nil, fmt.Errorf("MatMul of shapes %v and %v: inner dimensions differ", as, bs)
	}
	ab, bb := as[:len(as)-2], bs[:len(bs)-2]
	r := max(len(ab), len(bb))
	dims := make([]int, r)
	aStr, bStr := make([]int, r), make([]int, r)
	sa, sb := o.m*o.k, o.k*o.n
	for i := r - 1; i >= 0; i-- {
		da, db := 1, 1
		if j := i - (r - len(ab)); j >= 0 {
			da = ab[j]
		}
		if j := i - (r - len(bb)); j >= 0 {
			db = bb[j]
		}
		switch {
		case da == db || db == 1:
			dims[i] = da
		case da == 1:
			dims[i] = db
		default:
			return nil, fmt.Errorf("MatMul of shapes %v and %v: batch dimensions do not broadcast", as, bs)
		}
		if da != 1 {
			aStr[i] = sa
		}
		if db != 1 {
			bStr[i] = sb
		}
		sa *= da
		sb *= db
	}
	o.batch = numel(dims)
	o.aOff, o.bOff = o.aOff[:0], o.bOff[:0]
	idx := make([]int, r)
	for p := 0; p < o.batch; p++ {
		ao, bo := 0, 0
		for i := range idx {
			ao += idx[i] * aStr[i]
			bo += idx[i] * bStr[i]
		}
		o.aOff, o.bOff = append(o.aOff, ao), append(o.bOff, bo)
		for i := r - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < dims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return append(dims, o.m, o.n), nil
}

func (o *bmmOp) forward(n *Net) error {
	a, b, y := n.vals[o.a], n.vals[o.b], n.vals[o.out]
	shape, err := o.plan(a.shape, b.shape)
	if err != nil {
		return err
	}
	y.resize(shape)
	mn := o.m * o.n
	for p := 0; p < o.batch; p++ {
		kernels.Sgemm(false, false, o.m, o.n, o.k, a.data[o.aOff[p]:], o.k, b.data[o.bOff[p]:], o.n, y.data[p*mn:], o.n, false, n.threads)
	}
	return nil
}

// backward: dA = dY B^T and dB = A^T dY per matrix pair, accumulated (a broadcast
// operand collects the gradients of every pair that read it).
func (o *bmmOp) backward(n *Net) {
	a, b, y := n.vals[o.a], n.vals[o.b], n.vals[o.out]
	mn := o.m * o.n
	for p := 0; p < o.batch; p++ {
		dy := y.grad[p*mn:]
		if a.grad != nil {
			kernels.Sgemm(false, true, o.m, o.k, o.n, dy, o.n, b.data[o.bOff[p]:], o.n, a.grad[o.aOff[p]:], o.k, true, n.threads)
		}
		if b.grad != nil {
			kernels.Sgemm(true, false, o.k, o.n, o.m, a.data[o.aOff[p]:], o.k, dy, o.n, b.grad[o.bOff[p]:], o.n, true, n.threads)
		}
	}
}
