package qat

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// reduceMaxOp is ReduceMax or ReduceMin (x.amax(1) token pooling, a channel max): the
// axes handling of reduceOp; the gradient goes to the element that won (the first one
// on a tie).
type reduceMaxOp struct {
	r   *reduceOp
	min bool
	arg []int32 // per output element, the input element chosen
}

func buildReduceMax(b *builder, node *graph.Node) (built, error) {
	bt, err := buildReduce(b, node)
	if err != nil {
		return built{}, err
	}
	o := &reduceMaxOp{r: bt.op.(*reduceOp), min: node.OpType == "ReduceMin"}
	return built{o, bt.out}, nil
}

func (o *reduceMaxOp) label() string { return o.r.node }

func (o *reduceMaxOp) forward(n *Net) error {
	x, y := n.vals[o.r.in], n.vals[o.r.out]
	if err := o.r.plan(x.shape); err != nil {
		return err
	}
	y.resize(o.r.outShape)
	if cap(o.arg) < len(y.data) {
		o.arg = make([]int32, len(y.data))
	}
	o.arg = o.arg[:len(y.data)]
	for i := range o.arg {
		o.arg[i] = -1
	}
	best := float32(math.Inf(-1))
	if o.min {
		best = float32(math.Inf(1))
	}
	for i := range y.data {
		y.data[i] = best
	}
	for e, d := range o.r.dst {
		v := x.data[e]
		if o.arg[d] < 0 || (!o.min && v > y.data[d]) || (o.min && v < y.data[d]) {
			y.data[d], o.arg[d] = v, int32(e)
		}
	}
	return nil
}

func (o *reduceMaxOp) backward(n *Net) {
	x, y := n.vals[o.r.in], n.vals[o.r.out]
	if x.grad == nil {
		return
	}
	for i, e := range o.arg {
		x.grad[e] += y.grad[i]
	}
}
