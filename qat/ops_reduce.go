package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// reduceOp is ReduceMean, ReduceSum, ReduceSumSquare, ReduceL1, ReduceL2,
// ReduceLogSumExp or ReduceProd over a set of axes (x.mean([2, 3]) as PyTorch
// exports it, a channel mean; F.normalize's norm, LpNormalization written out; a
// product of gates or probabilities). Sums and products accumulate in float64 as
// the runtime's do.
type reduceOp struct {
	node     string
	kind     string
	mean     bool
	axes     []int64 // nil: all axes
	keepDims bool
	noop     bool // noop_with_empty_axes with no axes: the identity
	in, out  int
	// cached for the last input shape: the output element of every input element
	shape    []int
	outShape []int
	dst      []int32
	count    int
	acc      []float64
	// ReduceProd: the product of each output's nonzero inputs and how many are
	// zero (the gradient of a product is the product of the others)
	nzProd []float64
	zeros  []int32
}

func buildReduce(b *builder, node *graph.Node) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &reduceOp{node: node.Label(), kind: node.OpType, mean: node.OpType == "ReduceMean", in: in, out: b.slot(),
		keepDims: node.AttrInt("keepdims", 1) != 0, axes: node.AttrInts("axes", nil)}
	if graph.ReduceAxesFromInput(node.OpType, b.n.plan.Model.Opset()) {
		o.axes = nil
		if name := node.Input(1); name != "" {
			t := b.g.Initializers[name]
			if t == nil {
				return built{}, fmt.Errorf("%w: %s axes %q are not a constant", ErrNoGradient, node.OpType, name)
			}
			if o.axes, err = t.AsInt64(); err != nil {
				return built{}, fmt.Errorf("axes: %w", err)
			}
		}
	}
	o.noop = len(o.axes) == 0 && node.AttrInt("noop_with_empty_axes", 0) != 0
	return built{o, o.out}, nil
}

func (o *reduceOp) label() string { return o.node }

func (o *reduceOp) plan(shape []int) error {
	if o.dst != nil && equalShape(shape, o.shape) {
		return nil
	}
	r := len(shape)
	red := make([]bool, r)
	if len(o.axes) == 0 && !o.noop {
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range o.axes {
		ax := int(a)
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r {
			return fmt.Errorf("axis %d is out of range for shape %v", a, shape)
		}
		red[ax] = true
	}
	o.outShape, o.count = o.outShape[:0], 1
	for i, d := range shape {
		switch {
		case !red[i]:
			o.outShape = append(o.outShape, d)
		case o.keepDims:
			o.outShape = append(o.outShape, 1)
			o.count *= d
		default:
			o.count *= d
		}
	}
	// stride of each input axis in the output (0 for a reduced axis)
	st := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		if !red[i] {
			st[i] = s
			s *= shape[i]
		}
	}
	total := numel(shape)
	o.dst = make([]int32, total)
	idx := make([]int, r)
	for e := 0; e < total; e++ {
		var d int
		for i := range idx {
			d += idx[i] * st[i]
		}
		o.dst[e] = int32(d)
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	o.shape = append(o.shape[:0], shape...)
	return nil
}

func (o *reduceOp) scale() float64 {
	if o.mean && o.count > 0 {
		return 1 / float64(o.count)
	}
	return 1
}

func (o *reduceOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	if err := o.plan(x.shape); err != nil {
		return err
	}
	y.resize(o.outShape)
	if cap(o.acc) < len(y.data) {
		o.acc = make([]float64, len(y.data))
	}
	o.acc = o.acc[:len(y.data)]
	clear(o.acc)
	switch o.kind {
	case "ReduceSumSquare", "ReduceL2":
		for e, d := range o.dst {
			v := float64(x.data[e])
			o.acc[d] += v * v
		}
	case "ReduceL1":
		for e, d := range o.dst {
			o.acc[d] += math.Abs(float64(x.data[e]))
		}
	case "ReduceLogSumExp":
		// log(sum(exp(x - m))) + m with m the maximum, kept in y meanwhile
		for i := range y.data {
			y.data[i] = float32(math.Inf(-1))
		}
		for e, d := range o.dst {
			y.data[d] = max(y.data[d], x.data[e])
		}
		for e, d := range o.dst {
			o.acc[d] += math.Exp(float64(x.data[e] - y.data[d]))
		}
		for i, v := range o.acc {
			o.acc[i] = math.Log(v) + float64(y.data[i])
		}
	case "ReduceProd":
		o.nzProd, o.zeros = growF64(o.nzProd, len(y.data)), growI32(o.zeros, len(y.data))
		for i := range o.acc {
			o.acc[i], o.nzProd[i], o.zeros[i] = 1, 1, 0
		}
		for e, d := range o.dst {
			v := float64(x.data[e])
			o.acc[d] *= v
			if v == 0 {
				o.zeros[d]++
			} else {
				o.nzProd[d] *= v
			}
		}
	default:
		for e, d := range o.dst {
			o.acc[d] += float64(x.data[e])
		}
	}
	sc := o.scale()
	for i, v := range o.acc {
		if o.kind == "ReduceL2" {
			v = math.Sqrt(v)
		}
		y.data[i] = float32(v * sc)
	}
	return nil
}

func (o *reduceOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	sc := float32(o.scale())
	parallel(len(o.dst), n.threads, func(lo, hi int) {
		for e := lo; e < hi; e++ {
			d := o.dst[e]
			g := y.grad[d]
			switch o.kind {
			case "ReduceSumSquare":
				g *= 2 * x.data[e]
			case "ReduceL2":
				if y.data[d] == 0 {
					g = 0
				} else {
					g *= x.data[e] / y.data[d]
				}
			case "ReduceL1":
				switch {
				case x.data[e] > 0:
				case x.data[e] < 0:
					g = -g
				default:
					g = 0
				}
			case "ReduceLogSumExp":
				g *= float32(math.Exp(float64(x.data[e] - y.data[d])))
			case "ReduceProd":
				// the product of the other inputs: 0 with a zero among them
				switch v := float64(x.data[e]); {
				case o.zeros[d] == 0:
					g = float32(float64(g) * o.nzProd[d] / v)
				case o.zeros[d] == 1 && v == 0:
					g = float32(float64(g) * o.nzProd[d])
				default:
					g = 0
				}
			default:
				g *= sc
			}
			x.grad[e] += g
		}
	})
}

func growF64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func growI32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}
