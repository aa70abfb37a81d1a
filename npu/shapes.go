package npu

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// analysis is what the compiler knows of a model after shape inference: the concrete
// shape and type of every value, which values are compile-time constants, and which
// nodes could not be analysed (those become host fallbacks, never errors).
type analysis struct {
	g      *graph.Graph
	opset  int64
	values map[string]*graph.Value
	// consts marks values known at compile time (initializers and whatever folds from
	// them: weight DequantizeLinear, Shape -> Gather -> Concat chains, Constant).
	consts map[string]bool
	// constVals holds the values of the constants that fold (initializers, Constant,
	// dequantized initializers).
	constVals map[string]*graph.Tensor
	// unknown holds the reason a node's outputs have no shape.
	unknown map[*graph.Node]string
	// rebatched lists the inputs whose static batch of 1 was set to the batch.
	rebatched []string
}

// analyse sorts a copy of the graph and infers every shape with the batch dimension
// bound. It uses the graph package's operator schemas and, where a schema is missing
// (quantization operators of other domains, operators the project does not know), its
// own rules or nothing: a node without shapes is reported, not rejected.
func analyse(m *graph.Model, batch int, given map[string][]int) (*analysis, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("nil model")
	}
	g := m.Graph.Clone()
	if err := g.TopoSort(); err != nil {
		return nil, err
	}
	a := &analysis{g: g, opset: m.Opset(), values: map[string]*graph.Value{}, consts: map[string]bool{}, unknown: map[*graph.Node]string{}}
	constVals := map[string]*graph.Tensor{}
	a.constVals = constVals
	for k, t := range g.Initializers {
		a.values[k] = &graph.Value{Name: k, DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
		a.consts[k] = true
		constVals[k] = t
	}
	binding, err := bindInputs(g, batch, given)
	if err != nil {
		return nil, err
	}
	bound := binding.shapes
	a.rebatched = binding.rebatched
	for _, in := range g.Inputs {
		v := *in
		if s, ok := bound[in.Name]; ok {
			v.Shape, v.HasShape = graph.ShapeOf(s...), true
		}
		a.values[in.Name] = &v
	}
	for _, n := range g.Nodes {
		ctx := &graph.InferContext{Node: n, Opset: a.opset, Eval: runtime.ConstEval()}
		allConst := true
		if n.HasSubgraphs() {
			ctx.SetScope(a.values, constVals) // If/Loop subgraphs read outer values
			for _, in := range n.ImplicitInputs() {
				if !a.consts[in] {
					allConst = false
				}
			}
		}
		for _, in := range n.Inputs {
			if in == "" {
				ctx.Inputs = append(ctx.Inputs, nil)
				ctx.Consts = append(ctx.Consts, nil)
				continue
			}
			v := a.values[in]
			if v == nil {
				v = &graph.Value{Name: in}
			}
			if !a.consts[in] {
				allConst = false
			}
			ctx.Inputs = append(ctx.Inputs, v)
			ctx.Consts = append(ctx.Consts, constVals[in])
		}
		outs, cs, err := inferNode(ctx)
		if err == nil && allConst && len(n.Inputs) > 0 && !isRandomOp(n.OpType) && !n.HasSubgraphs() {
			outs, cs = foldConstNode(n, a.opset, ctx.Consts, outs, cs)
		}
		if err != nil {
			a.unknown[n] = err.Error()
		}
		for i, o := range n.Outputs {
			if o == "" {
				continue
			}
			v := &graph.Value{Name: o}
			if i < len(outs) && outs[i] != nil {
				cp := *outs[i]
				cp.Name = o
				v = &cp
			}
			a.values[o] = v
			if i < len(cs) && cs[i] != nil {
				constVals[o] = cs[i]
				a.consts[o] = true
			}
			// A deterministic node of constants is folded by the compiler.
			if allConst && len(n.Inputs) > 0 && !isRandomOp(n.OpType) {
				a.consts[o] = true
			}
			if n.OpType == "Constant" {
				a.consts[o] = true
			}
		}
	}
	if err := binding.checkRebatch(a, batch); err != nil {
		return nil, err
	}
	return a, nil
}

// foldConstNode evaluates a node whose inputs are all constant when its schema did
// not fold it (torchvision's transform computes its Pad and Resize sizes with Ceil,
// Floor and Cast of shapes), so that what the compiler folds has a value and the
// operators it sizes a shape.
func foldConstNode(n *graph.Node, opset int64, ins []*graph.Tensor, outs []*graph.Value, cs []*graph.Tensor) ([]*graph.Value, []*graph.Tensor) {
	missing := false
	for i, o := range n.Outputs {
		if o != "" && (i >= len(cs) || cs[i] == nil) {
			missing = true
		}
	}
	for i, in := range n.Inputs {
		if in != "" && ins[i] == nil {
			return outs, cs
		}
	}
	if !missing {
		return outs, cs
	}
	ev, err := runtime.ConstEval().EvalConst(n, opset, ins)
	if err != nil || len(ev) != len(n.Outputs) {
		return outs, cs
	}
	vals := make([]*graph.Value, len(ev))
	for i, t := range ev {
		if t == nil {
			return outs, cs
		}
		vals[i] = &graph.Value{DType: t.DType, Shape: graph.ShapeOf(t.Shape...), HasShape: true}
	}
	return vals, ev
}

func isRandomOp(op string) bool {
	switch op {
	case "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli":
		return true
	}
	return false
}

// inferNode runs the registered schema, or the simulator's own rule for the
// quantization operators when no schema is registered.
func inferNode(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
	n := c.Node
	if s := graph.LookupOp(n.Domain, n.OpType); s != nil && s.Infer != nil {
		outs, cs, err := s.Infer(c)
		if err == nil {
			return outs, cs, nil
		}
		// Fall through to our own rules when we have one: a strict schema may reject
		// what the simulator can still time.
		if o, ok := quantInfer(c); ok {
			return o, nil, nil
		}
		return nil, nil, err
	}
	if o, ok := quantInfer(c); ok {
		return o, nil, nil
	}
	dom := n.Domain
	if dom == "" {
		dom = "ai.onnx"
	}
	return nil, nil, fmt.Errorf("%s: no shape inference for operator %s (domain %s)", n.Label(), n.OpType, dom)
}

func concreteOf(v *graph.Value) ([]int, bool) {
	if v == nil || !v.HasShape {
		return nil, false
	}
	return v.Shape.Concrete()
}

func dtypeOf(v *graph.Value, def graph.DType) graph.DType {
	if v == nil || v.DType == graph.Undefined {
		return def
	}
	return v.DType
}

func val(dt graph.DType, s []int) *graph.Value {
	return &graph.Value{DType: dt, Shape: graph.ShapeOf(s...), HasShape: true}
}

// quantInfer covers the quantization operators (QDQ and QOperator forms, including
// com.microsoft's QLinear* ops), which only need simple shape rules.
func quantInfer(c *graph.InferContext) ([]*graph.Value, bool) {
	n := c.Node
	in := func(i int) ([]int, bool) { return concreteOf(c.Input(i)) }
	switch n.OpType {
	case "QuantizeLinear":
		s, ok := in(0)
		if !ok {
			return nil, false
		}
		return []*graph.Value{val(dtypeOf(c.Input(2), graph.Uint8), s)}, true
	case "DequantizeLinear":
		s, ok := in(0)
		if !ok {
			return nil, false
		}
		return []*graph.Value{val(graph.Float32, s)}, true
	case "DynamicQuantizeLinear":
		s, ok := in(0)
		if !ok {
			return nil, false
		}
		return []*graph.Value{val(graph.Uint8, s), val(graph.Float32, nil), val(graph.Uint8, nil)}, true
	case "QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax":
		s, ok := in(0)
		if !ok {
			return nil, false
		}
		return []*graph.Value{val(dtypeOf(c.Input(0), graph.Int8), s)}, true
	case "QLinearGlobalAveragePool":
		s, ok := in(0)
		if !ok || len(s) < 3 {
			return nil, false
		}
		o := []int{s[0], s[1]}
		for range s[2:] {
			o = append(o, 1)
		}
		return []*graph.Value{val(dtypeOf(c.Input(0), graph.Int8), o)}, true
	case "QLinearAdd", "QLinearMul":
		a, ok1 := in(0)
		b, ok2 := in(3)
		if !ok1 || !ok2 {
			return nil, false
		}
		o, err := graph.BroadcastInts(a, b)
		if err != nil {
			return nil, false
		}
		return []*graph.Value{val(dtypeOf(c.Input(7), graph.Int8), o)}, true
	case "QLinearMatMul", "MatMulInteger":
		bi, dt := 3, dtypeOf(c.Input(7), graph.Int8)
		if n.OpType == "MatMulInteger" {
			bi, dt = 1, graph.Int32
		}
		a, ok1 := in(0)
		b, ok2 := in(bi)
		if !ok1 || !ok2 {
			return nil, false
		}
		o, ok := matmulShape(a, b)
		if !ok {
			return nil, false
		}
		return []*graph.Value{val(dt, o)}, true
	case "QLinearConv", "ConvInteger":
		wi, dt := 3, dtypeOf(c.Input(7), graph.Int8)
		if n.OpType == "ConvInteger" {
			wi, dt = 1, graph.Int32
		}
		x, ok1 := in(0)
		w, ok2 := in(wi)
		if !ok1 || !ok2 || len(x) < 3 || len(w) != len(x) {
			return nil, false
		}
		geom, err := graph.ResolveConvGeom(n, x[2:], w[2:], false)
		if err != nil {
			return nil, false
		}
		o := append([]int{x[0], w[0]}, geom.Out...)
		return []*graph.Value{val(dt, o)}, true
	}
	return nil, false
}

// matmulShape is numpy matmul's result shape for concrete operands.
func matmulShape(a, b []int) ([]int, bool) {
	if len(a) == 0 || len(b) == 0 {
		return nil, false
	}
	a1, b1 := a, b
	if len(a1) == 1 {
		a1 = []int{1, a[0]}
	}
	if len(b1) == 1 {
		b1 = []int{b[0], 1}
	}
	if a1[len(a1)-1] != b1[len(b1)-2] {
		return nil, false
	}
	batch, err := graph.BroadcastInts(a1[:len(a1)-2], b1[:len(b1)-2])
	if err != nil {
		return nil, false
	}
	out := append(batch, a1[len(a1)-2], b1[len(b1)-1])
	if len(a) == 1 {
		out = append(out[:len(out)-2], out[len(out)-1])
	}
	if len(b) == 1 {
		out = out[:len(out)-1]
	}
	return out, true
}
