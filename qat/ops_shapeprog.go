package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// shapeOp is a node of the model's shape arithmetic that Optimize could not fold
// because it depends on the symbolic batch size: PyTorch's channel shuffle
// (x.size() -> Gather -> Div -> Unsqueeze -> Concat -> Reshape), x.view(x.size(0), -1).
// It carries no gradient: its values are integers (shapes, indices, a Cast of data)
// or are computed from them alone. The forward pass evaluates it with the runtime's
// kernel (runtime.ConstEval) on the current tensors and keeps the result in
// Net.computed, where the operators that read a shape, axes, pads or indices from
// it (Reshape, Slice, Pad, Resize, ...) find it.
type shapeOp struct {
	node  string
	gnode *graph.Node
	opset int64
	ins   []shapeIn
	outs  []string
	slots []int // per output, the slot of a float32 output read as data (-1 otherwise)
}

// shapeIn is one input of a shapeOp: an activation slot (its values or only its shape
// are read, never differentiated), a computed tensor, an initializer, or absent.
type shapeIn struct {
	slot     int
	computed string
	init     *graph.Tensor
}

// isShapeNode reports whether node belongs to the shape arithmetic: Shape/Size (they
// read only a shape), a node all of whose outputs are non-float (not differentiable),
// or a node that reads no activation (only constants and computed shapes).
func (b *builder) isShapeNode(node *graph.Node) bool {
	if node.Domain != "" {
		return false
	}
	switch node.OpType {
	case "Shape", "Size":
		return true
	case "Gather":
		if isEmbedding(b, node) {
			return false // the table trains (ops_embedding.go)
		}
	}
	nonFloat := true
	for _, o := range node.Outputs {
		if o == "" {
			continue
		}
		if v := b.g.Values[o]; v == nil || v.DType.IsFloat() || v.DType == graph.Undefined {
			// float16, bfloat16 and float64 are differentiable too (a
			// mixed-precision round trip through a Cast): not shape arithmetic
			nonFloat = false
		}
	}
	if nonFloat {
		return true
	}
	// a Loop's, If's or Scan's body may read values of this graph (its
	// implicit inputs): they count as inputs
	for i, in := range append(append([]string(nil), node.Inputs...), node.ImplicitInputs()...) {
		if in == "" || b.g.Initializers[in] != nil || b.n.computedNames[in] || (node.OpType == "CastLike" && i == 1) {
			// CastLike reads only the type of its second input
			continue
		}
		return false
	}
	return true
}

func buildShapeOp(b *builder, node *graph.Node) error {
	o := &shapeOp{node: node.Label(), gnode: node, opset: b.n.plan.Model.Opset()}
	// the runtime's kernel takes a body's implicit inputs after the declared ones
	for _, in := range append(append([]string(nil), node.Inputs...), node.ImplicitInputs()...) {
		si := shapeIn{slot: -1}
		switch {
		case in == "":
		case b.n.computedNames[in]:
			si.computed = in
		case b.g.Initializers[in] != nil:
			si.init = b.g.Initializers[in]
		default:
			s, err := b.input(node, in)
			if err != nil {
				return err
			}
			si.slot = s
		}
		o.ins = append(o.ins, si)
	}
	for _, out := range node.Outputs {
		o.outs = append(o.outs, out)
		s := -1
		if out != "" {
			b.n.computedNames[out] = true
			if v := b.g.Values[out]; v != nil && v.DType == graph.Float32 {
				// A float value computed from shapes or integer inputs that an
				// operator reads as data (ConstantOfShape feeding an Add, an
				// attention mask's (1 - mask) * -10000): a constant slot.
				s = b.slot()
				b.n.isConst[s] = true
			}
		}
		o.slots = append(o.slots, s)
	}
	// The op runs before the fake quantizations define puts after its float
	// outputs: they quantize this step's values.
	b.n.ops = append(b.n.ops, o)
	b.markInfinite(node)
	for i, out := range o.outs {
		if s := o.slots[i]; s >= 0 {
			b.define(out, s)
		}
	}
	return nil
}

func (o *shapeOp) label() string { return o.node }

func (o *shapeOp) forward(n *Net) error {
	in := make([]*graph.Tensor, len(o.ins))
	for i, si := range o.ins {
		switch {
		case si.slot >= 0:
			v := n.vals[si.slot]
			in[i] = graph.FromFloat32(v.shape, v.data)
		case si.computed != "":
			in[i] = n.computed[si.computed]
			if in[i] == nil {
				return fmt.Errorf("input %q was not computed", si.computed)
			}
		default:
			in[i] = si.init
		}
	}
	out, err := runtime.ConstEval().EvalConst(o.gnode, o.opset, in)
	if err != nil {
		return err
	}
	if out == nil {
		return fmt.Errorf("%w: %s has no runtime kernel", ErrNoGradient, o.gnode.OpType)
	}
	for i, name := range o.outs {
		if name == "" || i >= len(out) {
			continue
		}
		n.computed[name] = out[i]
		if s := o.slots[i]; s >= 0 {
			if out[i].DType != graph.Float32 {
				return fmt.Errorf("output %q is %s, not float32", name, out[i].DType)
			}
			v := n.vals[s]
			v.resize(out[i].Shape)
			copy(v.data, out[i].F32())
		}
	}
	return nil
}

func (o *shapeOp) backward(*Net) {}

// noGradIn is an operand that carries no gradient: a tensor the shape arithmetic
// computes each step (Net.computed: a comparison, an integer input, a mask) or a
// constant (a Where's condition, GatherElements' indices).
type noGradIn struct {
	computed string
	init     *graph.Tensor
}

// noGradInput returns input name as a noGradIn, false when it is neither computed
// nor a constant.
func (b *builder) noGradInput(name string) (noGradIn, bool) {
	switch {
	case b.n.computedNames[name]:
		return noGradIn{computed: name}, true
	case b.g.Initializers[name] != nil:
		return noGradIn{init: b.g.Initializers[name]}, true
	}
	return noGradIn{}, false
}

// value returns the operand's tensor for this step.
func (in noGradIn) value(n *Net) (*graph.Tensor, error) {
	if in.init != nil {
		return in.init, nil
	}
	if t := n.computed[in.computed]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("%q was not computed", in.computed)
}

// indices returns the operand's tensor for this step and its values as int64
// (GatherElements', Scatter's indices).
func (in noGradIn) indices(n *Net) (*graph.Tensor, []int64, error) {
	t, err := in.value(n)
	if err != nil {
		return nil, nil, fmt.Errorf("indices: %w", err)
	}
	idx, err := t.AsInt64()
	if err != nil {
		return nil, nil, fmt.Errorf("indices: %w", err)
	}
	return t, idx, nil
}

// sameValues reports whether two computed tensors hold the same values.
func sameValues(a, b *graph.Tensor) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.DType != b.DType || !equalShape(a.Shape, b.Shape) {
		return false
	}
	x, err1 := a.AsFloat64()
	y, err2 := b.AsFloat64()
	if err1 != nil || err2 != nil || len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}
