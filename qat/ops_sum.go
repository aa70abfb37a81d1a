package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// sumOp is the variadic Sum, Mean, Max or Min of tensors with numpy
// broadcasting (an ensemble's averaged heads, old model-zoo graphs' Sum and Max of
// branches): y = s·Σ x_k, s = 1 or 1/k, each input's gradient s·dy summed over
// the elements it was broadcast to; or y = max (min) over k, each output
// element's gradient to the input it came from (the first of equal ones, as the
// two-operand minMaxOp).
type sumOp struct {
	node  string
	ins   []int
	out   int
	scale float32
	pick  int     // 0: a sum; +1: Max; -1: Min
	from  []uint8 // per output element, the input it was picked from
	// shapes: the inputs' shapes the index maps were made for; idx[k][e] is the
	// element of input k that output element e reads
	shapes [][]int
	idx    [][]int32
}

func buildSum(b *builder, node *graph.Node) (built, error) {
	if len(node.Inputs) == 0 {
		return built{}, fmt.Errorf("%s has no input", node.OpType)
	}
	o := &sumOp{node: node.Label(), scale: 1}
	switch node.OpType {
	case "Mean":
		o.scale = 1 / float32(len(node.Inputs))
	case "Max":
		o.pick = 1
	case "Min":
		o.pick = -1
	}
	if o.pick != 0 && len(node.Inputs) > 255 {
		return built{}, fmt.Errorf("%w: %s of %d inputs", ErrNoGradient, node.OpType, len(node.Inputs))
	}
	for _, name := range node.Inputs {
		s, err := b.input(node, name)
		if err != nil {
			return built{}, err
		}
		o.ins = append(o.ins, s)
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *sumOp) label() string { return o.node }

// plan makes the index maps for the current input shapes.
func (o *sumOp) plan(n *Net) ([]int, error) {
	same := len(o.shapes) == len(o.ins)
	for k, s := range o.ins {
		if same && !equalShape(o.shapes[k], n.vals[s].shape) {
			same = false
		}
	}
	if same && o.idx != nil {
		return n.vals[o.out].shape, nil
	}
	out := n.vals[o.ins[0]].shape
	for _, s := range o.ins[1:] {
		var err error
		if out, _, _, err = broadcastIndex(out, n.vals[s].shape); err != nil {
			return nil, err
		}
	}
	o.shapes, o.idx = o.shapes[:0], o.idx[:0]
	for _, s := range o.ins {
		_, _, ib, err := broadcastIndex(out, n.vals[s].shape)
		if err != nil {
			return nil, err
		}
		o.shapes = append(o.shapes, append([]int(nil), n.vals[s].shape...))
		o.idx = append(o.idx, ib)
	}
	return out, nil
}

func (o *sumOp) forward(n *Net) error {
	shape, err := o.plan(n)
	if err != nil {
		return err
	}
	y := n.vals[o.out]
	y.resize(shape)
	if o.pick != 0 {
		o.pickForward(n, y.data)
		return nil
	}
	clear(y.data)
	for k, s := range o.ins {
		x := n.vals[s].data
		for e, i := range o.idx[k] {
			y.data[e] += x[i]
		}
	}
	if o.scale != 1 {
		for e := range y.data {
			y.data[e] *= o.scale
		}
	}
	return nil
}

// pickForward is Max or Min: each output element takes the largest (smallest)
// of the inputs' elements, the first of equal ones.
func (o *sumOp) pickForward(n *Net, y []float32) {
	o.from = o.from[:0]
	for e := range y {
		best, from := n.vals[o.ins[0]].data[o.idx[0][e]], 0
		for k, s := range o.ins[1:] {
			v := n.vals[s].data[o.idx[k+1][e]]
			if (o.pick > 0 && v > best) || (o.pick < 0 && v < best) {
				best, from = v, k+1
			}
		}
		y[e] = best
		o.from = append(o.from, uint8(from))
	}
}

func (o *sumOp) backward(n *Net) {
	dy := n.vals[o.out].grad
	if o.pick != 0 {
		for e, k := range o.from {
			if dx := n.vals[o.ins[k]].grad; dx != nil {
				dx[o.idx[k][e]] += dy[e]
			}
		}
		return
	}
	for k, s := range o.ins {
		dx := n.vals[s].grad
		if dx == nil {
			continue
		}
		for e, i := range o.idx[k] {
			dx[i] += o.scale * dy[e]
		}
	}
}
