package qat

import (
	"errors"
	"fmt"
	"maps"
	"reflect"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// body is a control-flow subgraph (a Loop's body, an If's branch) built into
// the training program. Its ops run on the net's own slots, [lo, hi) being the
// ones made for it; its formal inputs are bound before each run and its
// outputs read after. A body stays float32 as both executors run it (the
// quantizer plans the top-level graph only, quantizer/plan_subgraph.go), so it
// is built without fake quantization; its weights are the model's initializers
// that it reads from the enclosing scope, shared with the rest of the net.
type body struct {
	ops    []op
	lo, hi int
	ins    []bodyVar
	outs   []bodyVar
}

// bodyVar is a formal input or an output of a body: a float slot, or (slot -1)
// a value of the shape arithmetic kept in Net.computed under name.
type bodyVar struct {
	name string
	slot int
}

// buildBody builds sg, a subgraph of node, in a builder that sees the
// enclosing scope (the values and initializers b sees) and adds sg's own.
// floatIn says which formal inputs are float activations (a slot each); the
// others are computed (an iteration number, a condition, an integer carried
// value).
func (b *builder) buildBody(node *graph.Node, sg *graph.Graph, floatIn []bool) (*body, error) {
	g := &graph.Graph{Name: sg.Name, Nodes: sg.Nodes, Inputs: sg.Inputs, Outputs: sg.Outputs,
		Initializers: maps.Clone(b.g.Initializers), Values: maps.Clone(b.g.Values)}
	maps.Copy(g.Initializers, sg.Initializers)
	maps.Copy(g.Values, sg.Values)
	cb := &builder{n: b.n, g: g, cur: maps.Clone(b.cur), fqOf: b.fqOf,
		acts: map[string]quantizer.TrainingActivation{}, wAxis: map[string]int{}, bias: map[string]bool{}, consts: map[string]bool{},
		orig: b.orig, reads: b.reads, infinite: b.infinite, gridInfinite: b.gridInfinite,
		paramNodes: b.paramNodes, shapeNodes: map[int]bool{}, curNode: b.curNode, trained: b.trained, touches: b.touches}
	n := b.n
	outer := n.ops
	n.ops = nil
	defer func() { n.ops = outer }()
	bd := &body{lo: len(n.vals)}
	for i, in := range sg.Inputs {
		if i < len(floatIn) && floatIn[i] {
			s := cb.slot()
			cb.cur[in.Name] = s
			cb.trained[in.Name] = true // what the enclosing node hands in may carry one
			bd.ins = append(bd.ins, bodyVar{in.Name, s})
			continue
		}
		delete(cb.cur, in.Name)
		n.computedNames[in.Name] = true
		bd.ins = append(bd.ins, bodyVar{in.Name, -1})
	}
	needed := neededNodes(g, g.Outputs)
	for i, bn := range g.Nodes {
		if !needed[i] {
			continue
		}
		if bn.OpType == "Constant" && bn.Domain == "" && len(bn.Outputs) == 1 {
			// what Optimize does to the top-level graph, which it leaves
			// bodies out of: a constant is an initializer (an Unsqueeze's
			// axes, a Slice's bounds must be)
			out, err := runtime.ConstEval().EvalConst(bn, n.plan.Model.Opset(), nil)
			if err != nil || len(out) != 1 {
				return nil, fmt.Errorf("%s: node %s: %v", sg.Name, bn.Label(), err)
			}
			g.Initializers[bn.Outputs[0]] = out[0]
			continue
		}
		if err := cb.node(bn, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", sg.Name, err)
		}
	}
	for _, o := range g.Outputs {
		switch s, ok := cb.cur[o.Name]; {
		case ok:
			bd.outs = append(bd.outs, bodyVar{o.Name, s})
		case n.computedNames[o.Name]:
			bd.outs = append(bd.outs, bodyVar{o.Name, -1})
		default:
			s, err := cb.input(node, o.Name)
			if err != nil {
				return nil, fmt.Errorf("%s: output %q: %w", sg.Name, o.Name, err)
			}
			bd.outs = append(bd.outs, bodyVar{o.Name, s})
		}
	}
	bd.ops = n.ops
	bd.hi = len(n.vals)
	return bd, nil
}

// controlOutputs makes the outputs of a control-flow node: a slot for each
// whose body value (vals[i]) is a float activation, a computed name for the
// others; first is the first slot (the op's main output).
func (b *builder) controlOutputs(node *graph.Node, vals []bodyVar) (outs []int, names []string, first int, err error) {
	first = -1
	for i, name := range node.Outputs {
		if i >= len(vals) {
			return nil, nil, 0, fmt.Errorf("output %d (%q) has no body output", i, name)
		}
		s := -1
		if name != "" {
			if vals[i].slot >= 0 {
				s = b.slot()
			} else {
				b.n.computedNames[name] = true
			}
		}
		if first < 0 && s >= 0 {
			first = s
		}
		outs, names = append(outs, s), append(names, name)
	}
	if first < 0 {
		return nil, nil, 0, errors.New("no float output")
	}
	return outs, names, first, nil
}

// run runs the body's forward pass.
func (bd *body) run(n *Net) error {
	for _, o := range bd.ops {
		if err := o.forward(n); err != nil {
			return fmt.Errorf("%s: %w", o.label(), err)
		}
	}
	return nil
}

// clearGrads sizes and clears the gradients of the body's own slots (each run of
// a loop body is a new set of values).
func (bd *body) clearGrads(n *Net) {
	for s := bd.lo; s < bd.hi; s++ {
		if v := n.vals[s]; n.isConst[s] {
			v.grad = nil
		} else {
			v.zeroGrad()
		}
	}
}

// backward runs the body's backward pass (its outputs' gradients seeded).
func (bd *body) backward(n *Net) {
	for i := len(bd.ops) - 1; i >= 0; i-- {
		bd.ops[i].backward(n)
	}
}

// setSlot gives slot s the shape and values given.
func setSlot(n *Net, s int, shape []int, data []float32) {
	v := n.vals[s]
	v.resize(shape)
	copy(v.data, data)
}

// addGrad adds g to slot s's gradient when it has one.
func addGrad(n *Net, s int, g []float32) {
	if s < 0 || g == nil {
		return
	}
	if v := n.vals[s]; v.grad != nil {
		addTo(v.grad[:len(g)], g)
	}
}

// stackTensors stacks equal-shaped tensors of one type along a new first axis
// (a Loop's computed scan output: each iteration's count or index).
func stackTensors(parts []*graph.Tensor) (*graph.Tensor, error) {
	if len(parts) == 0 {
		return nil, errors.New("nothing to stack")
	}
	first := parts[0]
	data := reflect.MakeSlice(reflect.TypeOf(first.Data), 0, len(parts)*first.Len())
	for i, p := range parts {
		if p.DType != first.DType || !equalShape(p.Shape, first.Shape) {
			return nil, fmt.Errorf("iteration %d gives %s%v, iteration 0 gave %s%v", i, p.DType, p.Shape, first.DType, first.Shape)
		}
		data = reflect.AppendSlice(data, reflect.ValueOf(p.Data))
	}
	return &graph.Tensor{DType: first.DType, Shape: append([]int{len(parts)}, first.Shape...), Data: data.Interface()}, nil
}
