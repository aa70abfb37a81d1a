package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// whereOp is Where(cond, a, b) with numpy broadcasting, where a or b is an
// activation: a causal mask that replaces the scores of future tokens by a large
// negative value (torch.where(mask, scores, min) in GPT-2 style attention),
// masked_fill. The condition is computed (a comparison, a mask input, a constant)
// and carries no gradient; each output element's gradient goes to the operand it
// was taken from.
type whereOp struct {
	node      string
	cond      noGradIn
	a, b, out int
	// per output element, the index into cond, a and b
	ic, ia, ib []int32
	shapes     [3][]int
	c          []bool
}

func buildWhere(b *builder, node *graph.Node) (built, error) {
	o := &whereOp{node: node.Label()}
	var ok bool
	if o.cond, ok = b.noGradInput(node.Input(0)); !ok {
		return built{}, fmt.Errorf("%w: Where condition %q is neither computed from shapes, integer inputs or comparisons nor a constant", ErrNoGradient, node.Input(0))
	}
	var err error
	if o.a, err = b.input(node, node.Input(1)); err != nil {
		return built{}, err
	}
	if o.b, err = b.input(node, node.Input(2)); err != nil {
		return built{}, err
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *whereOp) label() string { return o.node }

// condition returns the condition's values and shape for this step.
func (o *whereOp) condition(n *Net) ([]bool, []int, error) {
	t, err := o.cond.value(n)
	if err != nil {
		return nil, nil, fmt.Errorf("condition: %w", err)
	}
	if v, ok := t.Data.([]bool); ok {
		return v, t.Shape, nil
	}
	f, err := t.AsFloat64()
	if err != nil {
		return nil, nil, fmt.Errorf("condition: %w", err)
	}
	o.c = o.c[:0]
	for _, x := range f {
		o.c = append(o.c, x != 0)
	}
	return o.c, t.Shape, nil
}

func (o *whereOp) forward(n *Net) error {
	c, cshape, err := o.condition(n)
	if err != nil {
		return err
	}
	a, b, y := n.vals[o.a], n.vals[o.b], n.vals[o.out]
	if o.ia == nil || !equalShape(o.shapes[0], cshape) || !equalShape(o.shapes[1], a.shape) || !equalShape(o.shapes[2], b.shape) {
		ab, ia, ib, err := broadcastIndex(a.shape, b.shape)
		if err != nil {
			return err
		}
		out, iab, ic, err := broadcastIndex(ab, cshape)
		if err != nil {
			return err
		}
		o.ia, o.ib, o.ic = make([]int32, len(iab)), make([]int32, len(iab)), ic
		for i, k := range iab {
			o.ia[i], o.ib[i] = ia[k], ib[k]
		}
		o.shapes = [3][]int{append([]int(nil), cshape...), append([]int(nil), a.shape...), append([]int(nil), b.shape...)}
		y.resize(out)
	}
	for i := range y.data {
		if c[o.ic[i]] {
			y.data[i] = a.data[o.ia[i]]
		} else {
			y.data[i] = b.data[o.ib[i]]
		}
	}
	o.c = c
	return nil
}

func (o *whereOp) backward(n *Net) {
	a, b, y := n.vals[o.a], n.vals[o.b], n.vals[o.out]
	for i, g := range y.grad {
		if o.c[o.ic[i]] {
			if a.grad != nil {
				a.grad[o.ia[i]] += g
			}
		} else if b.grad != nil {
			b.grad[o.ib[i]] += g
		}
	}
}

// minMaxOp is Max or Min of two operands with numpy broadcasting (torch.maximum,
// torch.clamp with tensor bounds): each output element's gradient goes to the
// operand it was taken from, the first on a tie.
type minMaxOp struct {
	node      string
	max       bool
	a, b, out int
	ia, ib    []int32
	shapes    [2][]int
	fromA     []bool
}

func buildMinMax(b *builder, node *graph.Node) (built, error) {
	if len(node.Inputs) != 2 {
		return buildSum(b, node) // any other number of inputs (ops_sum.go)
	}
	o := &minMaxOp{node: node.Label(), max: node.OpType == "Max"}
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

func (o *minMaxOp) label() string { return o.node }

func (o *minMaxOp) forward(n *Net) error {
	a, b, y := n.vals[o.a], n.vals[o.b], n.vals[o.out]
	if o.ia == nil || !equalShape(o.shapes[0], a.shape) || !equalShape(o.shapes[1], b.shape) {
		out, ia, ib, err := broadcastIndex(a.shape, b.shape)
		if err != nil {
			return err
		}
		o.ia, o.ib = ia, ib
		o.shapes = [2][]int{append([]int(nil), a.shape...), append([]int(nil), b.shape...)}
		y.resize(out)
	}
	o.fromA = grow8(o.fromA, len(y.data))
	for i := range y.data {
		x, z := a.data[o.ia[i]], b.data[o.ib[i]]
		takeA := x >= z
		if !o.max {
			takeA = x <= z
		}
		o.fromA[i] = takeA
		if takeA {
			y.data[i] = x
		} else {
			y.data[i] = z
		}
	}
	return nil
}

func (o *minMaxOp) backward(n *Net) {
	a, b, y := n.vals[o.a], n.vals[o.b], n.vals[o.out]
	for i, g := range y.grad {
		if o.fromA[i] {
			if a.grad != nil {
				a.grad[o.ia[i]] += g
			}
		} else if b.grad != nil {
			b.grad[o.ib[i]] += g
		}
	}
}

func grow8(s []bool, n int) []bool {
	if cap(s) < n {
		return make([]bool, n)
	}
	return s[:n]
}
