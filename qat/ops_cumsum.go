package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// cumsumOp is CumSum along a constant axis (exclusive and reverse as ONNX defines
// them): Mamba's and ALiBi's running sums, position ids from a mask. Its
// gradient is the cumulative sum of dy in the other direction, exclusive alike.
type cumsumOp struct {
	node              string
	in, out           int
	axis              int
	exclusive, rev    bool
	outer, size, step int
}

func buildCumSum(b *builder, node *graph.Node) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	t := b.g.Initializers[node.Input(1)]
	if t == nil || t.Len() != 1 {
		return built{}, fmt.Errorf("%w: CumSum axis %q is not a constant scalar", ErrNoGradient, node.Input(1))
	}
	ax, err := t.AsInt64()
	if err != nil {
		return built{}, fmt.Errorf("CumSum axis: %w", err)
	}
	o := &cumsumOp{node: node.Label(), in: in, out: b.slot(), axis: int(ax[0]),
		exclusive: node.AttrInt("exclusive", 0) != 0, rev: node.AttrInt("reverse", 0) != 0}
	return built{o, o.out}, nil
}

func (o *cumsumOp) label() string { return o.node }

// scan writes the cumulative sums of src along the axis into dst, forward (or
// backward with rev), inclusive or exclusive.
func (o *cumsumOp) scan(src, dst []float32, rev bool) {
	for a := 0; a < o.outer; a++ {
		for i := 0; i < o.step; i++ {
			base := a*o.size*o.step + i
			var acc float64
			for k := 0; k < o.size; k++ {
				j := k
				if rev {
					j = o.size - 1 - k
				}
				e := base + j*o.step
				v := float64(src[e])
				if o.exclusive {
					dst[e] = float32(acc)
					acc += v
				} else {
					acc += v
					dst[e] = float32(acc)
				}
			}
		}
	}
}

func (o *cumsumOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	r := len(x.shape)
	ax := o.axis
	if ax < 0 {
		ax += r
	}
	if ax < 0 || ax >= r {
		return fmt.Errorf("axis %d of a rank-%d tensor", o.axis, r)
	}
	o.outer, o.size, o.step = numel(x.shape[:ax]), x.shape[ax], numel(x.shape[ax+1:])
	y.resize(x.shape)
	o.scan(x.data, y.data, o.rev)
	return nil
}

func (o *cumsumOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	g := make([]float32, len(y.grad))
	o.scan(y.grad, g, !o.rev)
	for i, v := range g {
		x.grad[i] += v
	}
}
