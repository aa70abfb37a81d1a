package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// ifOp is an If whose branches read activations: the condition is computed
// (shape arithmetic, a comparison), the branch it picks runs forward, and the
// gradient goes back through that branch alone (the other one was not run).
type ifOp struct {
	node     string
	cond     noGradIn
	branches [2]*body // then, else
	outs     []int
	outNames []string
	taken    *body
}

func buildIf(b *builder, node *graph.Node) (built, error) {
	cond, ok := b.noGradInput(node.Input(0))
	if !ok {
		return built{}, fmt.Errorf("condition %q is an activation", node.Input(0))
	}
	o := &ifOp{node: node.Label(), cond: cond}
	for i, attr := range []string{"then_branch", "else_branch"} {
		a := node.Attrs[attr]
		if a == nil || a.G == nil {
			return built{}, fmt.Errorf("If without %s", attr)
		}
		bd, err := b.buildBody(node, a.G, nil)
		if err != nil {
			return built{}, err
		}
		if len(bd.outs) < len(node.Outputs) {
			return built{}, fmt.Errorf("%s has %d outputs for %d", attr, len(bd.outs), len(node.Outputs))
		}
		o.branches[i] = bd
	}
	for i, name := range node.Outputs {
		if i >= len(o.branches[1].outs) {
			break // controlOutputs says so
		}
		if then, els := o.branches[0].outs[i], o.branches[1].outs[i]; (then.slot >= 0) != (els.slot >= 0) {
			return built{}, fmt.Errorf("output %d (%q): the then branch gives a %s, the else branch a %s", i, name, kindOf(then), kindOf(els))
		}
	}
	var first int
	var err error
	if o.outs, o.outNames, first, err = b.controlOutputs(node, o.branches[0].outs); err != nil {
		return built{}, err
	}
	return built{o, first}, nil
}

func (o *ifOp) label() string { return o.node }

func (o *ifOp) outSlots() []int { return o.outs }

func (o *ifOp) forward(n *Net) error {
	t, err := o.cond.value(n)
	if err != nil {
		return err
	}
	c, err := truth(t, "cond")
	if err != nil {
		return err
	}
	o.taken = o.branches[1]
	if c {
		o.taken = o.branches[0]
	}
	if err := o.taken.run(n); err != nil {
		return err
	}
	for i, s := range o.outs {
		out := o.taken.outs[i]
		switch {
		case o.outNames[i] == "":
		case s >= 0:
			v := n.vals[out.slot]
			setSlot(n, s, v.shape, v.data)
		default:
			n.computed[o.outNames[i]] = n.computed[out.name]
		}
	}
	return nil
}

func (o *ifOp) backward(n *Net) {
	if o.taken == nil {
		return
	}
	for i, s := range o.outs {
		if s >= 0 && n.vals[s].grad != nil {
			addGrad(n, o.taken.outs[i].slot, n.vals[s].grad)
		}
	}
	o.taken.backward(n)
}
