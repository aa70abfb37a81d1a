package qat

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// softmaxOp is Softmax or LogSoftmax over one axis (opset 13 semantics: Optimize
// rewrites the older 2-D coercion into a Flatten/Reshape pair). A Softmax inside the
// network (attention-like gating, a classifier that ends in probabilities) is
// differentiated through; the training loss still applies its own softmax to the
// output.
type softmaxOp struct {
	node    string
	log     bool
	axis    int
	in, out int
}

func buildSoftmax(b *builder, node *graph.Node) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &softmaxOp{node: node.Label(), log: node.OpType == "LogSoftmax", axis: int(node.AttrInt("axis", -1)), in: in, out: b.slot()}
	return built{o, o.out}, nil
}

func (o *softmaxOp) label() string { return o.node }

// rows returns the number of rows outside the axis, the axis length and the stride
// of the axis (the size of the dimensions after it).
func (o *softmaxOp) rows(shape []int) (outer, l, inner int, err error) {
	a := o.axis
	if a < 0 {
		a += len(shape)
	}
	if a < 0 || a >= len(shape) {
		return 0, 0, 0, fmt.Errorf("axis %d is out of range for shape %v", o.axis, shape)
	}
	return numel(shape[:a]), shape[a], numel(shape[a+1:]), nil
}

func (o *softmaxOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	outer, l, inner, err := o.rows(x.shape)
	if err != nil {
		return err
	}
	y.resize(x.shape)
	parallel(outer*inner, n.threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			base := (r/inner)*l*inner + r%inner
			m := math.Inf(-1)
			for k := 0; k < l; k++ {
				m = math.Max(m, float64(x.data[base+k*inner]))
			}
			var sum float64
			for k := 0; k < l; k++ {
				sum += math.Exp(float64(x.data[base+k*inner]) - m)
			}
			ls := math.Log(sum)
			for k := 0; k < l; k++ {
				v := float64(x.data[base+k*inner]) - m
				if o.log {
					y.data[base+k*inner] = float32(v - ls)
				} else {
					y.data[base+k*inner] = float32(math.Exp(v) / sum)
				}
			}
		}
	})
	return nil
}

// backward: for y = softmax(x), dx = y * (dy - sum(dy*y)); for y = log softmax(x),
// dx = dy - softmax(x) * sum(dy).
func (o *softmaxOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	outer, l, inner, err := o.rows(x.shape)
	if err != nil {
		return
	}
	parallel(outer*inner, n.threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			base := (r/inner)*l*inner + r%inner
			var s float64
			for k := 0; k < l; k++ {
				i := base + k*inner
				if o.log {
					s += float64(y.grad[i])
				} else {
					s += float64(y.grad[i]) * float64(y.data[i])
				}
			}
			for k := 0; k < l; k++ {
				i := base + k*inner
				if o.log {
					x.grad[i] += y.grad[i] - float32(math.Exp(float64(y.data[i]))*s)
				} else {
					x.grad[i] += y.data[i] * (y.grad[i] - float32(s))
				}
			}
		}
	})
}
