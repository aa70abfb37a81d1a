package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// topKOp is TopK (a mixture-of-experts router's gate weights, the scores a
// detector keeps): the runtime's kernel picks the values (runtime.ConstEval), and
// each picked value's gradient goes to the element it was picked from. The
// indices output carries no gradient: it is a computed tensor (Net.computed) for
// the operators that read it (a Gather of the chosen experts, GatherElements).
type topKOp struct {
	node    string
	gnode   *graph.Node
	opset   int64
	in, out int
	k       noGradIn // input K (opset 10 on); attribute k before
	hasK    bool
	idxName string
	axis    int
	src     []int32
}

func buildTopK(b *builder, node *graph.Node) (built, error) {
	o := &topKOp{node: node.Label(), gnode: node, opset: b.n.plan.Model.Opset(), axis: int(node.AttrInt("axis", -1))}
	var err error
	if o.in, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	if name := node.Input(1); name != "" {
		var ok bool
		if o.k, ok = b.noGradInput(name); !ok {
			return built{}, fmt.Errorf("%w: TopK K %q is computed from float data", ErrNoGradient, name)
		}
		o.hasK = true
	}
	o.out = b.slot()
	if len(node.Outputs) > 1 {
		o.idxName = node.Outputs[1]
	}
	return built{o, o.out}, nil
}

func (o *topKOp) label() string { return o.node }

// outSlots: the values' slot; the indices (-1) are a computed output.
func (o *topKOp) outSlots() []int { return []int{o.out, -1} }

func (o *topKOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	in := []*graph.Tensor{graph.FromFloat32(x.shape, x.data)}
	if o.hasK {
		k, err := o.k.value(n)
		if err != nil {
			return fmt.Errorf("K: %w", err)
		}
		in = append(in, k)
	}
	res, err := runtime.ConstEval().EvalConst(o.gnode, o.opset, in)
	if err != nil {
		return err
	}
	if len(res) != 2 || res[0].DType != graph.Float32 {
		return fmt.Errorf("the runtime's TopK gave %d outputs", len(res))
	}
	idx, err := res[1].AsInt64()
	if err != nil {
		return err
	}
	if o.src, err = elementSources(x.shape, res[1].Shape, idx, o.axis, o.src); err != nil {
		return err
	}
	y.resize(res[0].Shape)
	copy(y.data, res[0].F32())
	if o.idxName != "" {
		n.computed[o.idxName] = res[1]
	}
	return nil
}

func (o *topKOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	for e, p := range o.src {
		x.grad[p] += y.grad[e]
	}
}
