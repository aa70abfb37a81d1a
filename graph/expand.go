package graph

import (
	"fmt"
	"math"
)

// Operators that are compositions of standard ones — ONNX function operators
// (SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss, MeanVarianceNormalization,
// LpNormalization, LpPool, GlobalLpPool), ReverseSequence, the Optional
// operators of a torch.jit.script Optional[Tensor] argument, and the
// com.microsoft operators ONNX Runtime's graph optimizer writes into the files
// users save with optimized_model_filepath (FusedConv, FusedGemm, FusedMatMul,
// BiasGelu, Gelu, FastGelu, QuickGelu, SkipLayerNormalization) and its
// QOperator quantizer writes (QLinearConcat, QLinearAveragePool, QGemm,
// QLinearSoftmax) — are expanded into standard operators when a model is read
// (sixteenth session, the unseen11 set). Everything downstream (shape
// inference, the optimizer's fusions, the quantizer's plan, the int8 lowering
// of QuantizeLinear/DequantizeLinear pairs, the simulator) then sees operators
// it knows, instead of each growing a kernel per spelling. An expansion keeps
// the node's outputs' names, so graph outputs and consumers are unchanged;
// what it cannot express (an attribute value it does not handle) is an error
// naming the node.

// expandFunc returns the nodes that replace n (nil: leave n as it is).
type expandFunc func(e *expander, n *Node) error

// expansions maps domain "::" op_type to its expansion.
var expansions = map[string]expandFunc{}

func registerExpansion(domain, op string, f expandFunc) { expansions[schemaKey(domain, op)] = f }

// expander builds the replacement of one node.
type expander struct {
	g     *Graph
	opset int64 // the default domain's
	base  string
	nodes []*Node
	taken map[string]bool // names given in this pass (its nodes are not in g.Nodes yet)
}

// unique returns base, or base with a numeric suffix, that no value, node or
// earlier name of this pass uses.
func (e *expander) unique(base string) string {
	for i := 0; ; i++ {
		cand := base
		if i > 0 {
			cand = fmt.Sprintf("%s_%d", base, i)
		}
		if !e.taken[cand] && e.g.UniqueName(cand) == cand {
			e.taken[cand] = true
			return cand
		}
	}
}

// expandOps replaces every expandable node of g and of its subgraphs.
func expandOps(g *Graph, opset int64) error {
	var out []*Node
	changed := false
	taken := map[string]bool{}
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			if a.G != nil {
				if err := expandOps(a.G, opset); err != nil {
					return err
				}
			}
		}
		f := expansions[schemaKey(n.Domain, n.OpType)]
		if f == nil {
			out = append(out, n)
			continue
		}
		base := n.Name
		if base == "" {
			base = n.OpType + "_" + n.Output(0)
		}
		e := &expander{g: g, opset: opset, base: base, taken: taken}
		if err := f(e, n); err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		out = append(out, e.nodes...)
		changed = true
	}
	if changed {
		g.Nodes = out
	}
	return nil
}

// Output returns output i's name ("" when absent).
func (n *Node) Output(i int) string {
	if i < len(n.Outputs) {
		return n.Outputs[i]
	}
	return ""
}

// tmp returns a fresh value name.
func (e *expander) tmp(what string) string {
	name := e.unique(e.base + "/" + what)
	e.g.Values[name] = &Value{Name: name}
	return name
}

// op appends a node writing out (a fresh name when out is "") and returns out.
func (e *expander) op(opType, domain, out string, ins []string, attrs ...*Attr) string {
	if out == "" {
		out = e.tmp(opType)
	}
	n := &Node{Name: e.unique(e.base + "/" + opType), OpType: opType, Domain: domain,
		Inputs: ins, Outputs: []string{out}, Attrs: map[string]*Attr{}}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	e.nodes = append(e.nodes, n)
	return out
}

// std appends a default-domain node (see op).
func (e *expander) std(opType, out string, ins []string, attrs ...*Attr) string {
	return e.op(opType, "", out, ins, attrs...)
}

// constant adds an initializer and returns its name.
func (e *expander) constant(what string, t *Tensor) string {
	name := e.tmp(what)
	e.g.Initializers[name] = t
	e.g.Values[name] = &Value{Name: name, DType: t.DType, Shape: ShapeOf(t.Shape...), HasShape: true}
	return name
}

// scalar is a float constant of dtype dt (float32 when dt is not a float type).
func (e *expander) scalar(v float64, dt DType) string {
	switch dt {
	case Float64:
		t := NewTensor(Float64, nil)
		t.Data.([]float64)[0] = v
		return e.constant("c", t)
	case Float16:
		t := NewTensor(Float16, nil)
		t.Data.([]uint16)[0] = Float32ToFloat16(float32(v))
		return e.constant("c", t)
	}
	return e.constant("c", ScalarFloat32(float32(v)))
}

func (e *expander) ints(v ...int64) string {
	return e.constant("i", FromInt64([]int{len(v)}, append([]int64(nil), v...)))
}

// dtypeOf is the declared type of a value (Float32 when the file declares none:
// an exporter's value_info usually gives it; float16 and float64 models are
// computed in float32 by the executors anyway, graph/optimize).
func (e *expander) dtypeOf(name string) DType {
	if v := e.g.Values[name]; v != nil && v.DType != Undefined {
		return v.DType
	}
	if t := e.g.Initializers[name]; t != nil {
		return t.DType
	}
	return Float32
}

// reduce writes a Reduce* with axes in the spelling of the opset (an input from
// opset 18, and for ReduceSum from 13; nil axes: all).
func (e *expander) reduce(op, x string, axes []int64, keepdims bool) string {
	kd := IntAttr("keepdims", 0)
	if keepdims {
		kd = IntAttr("keepdims", 1)
	}
	if axes == nil {
		return e.std(op, "", []string{x}, kd)
	}
	if e.opset >= 18 || (op == "ReduceSum" && e.opset >= 13) {
		return e.std(op, "", []string{x, e.ints(axes...)}, kd)
	}
	return e.std(op, "", []string{x}, kd, Int64sAttr("axes", axes))
}

// unsqueeze and squeeze write axes as the opset spells them (an input from 13).
func (e *expander) unsqueeze(x string, axes ...int64) string {
	if e.opset >= 13 {
		return e.std("Unsqueeze", "", []string{x, e.ints(axes...)})
	}
	return e.std("Unsqueeze", "", []string{x}, Int64sAttr("axes", axes))
}

func (e *expander) squeeze(x, out string, axes ...int64) string {
	if e.opset >= 13 {
		return e.std("Squeeze", out, []string{x, e.ints(axes...)})
	}
	return e.std("Squeeze", out, []string{x}, Int64sAttr("axes", axes))
}

// sliceFrom writes x[start:] along axis 0 of a 1-D tensor.
func (e *expander) sliceFrom(x string, start int64) string {
	if e.opset >= 10 {
		return e.std("Slice", "", []string{x, e.ints(start), e.ints(math.MaxInt64), e.ints(0)})
	}
	return e.std("Slice", "", []string{x}, Int64sAttr("starts", []int64{start}),
		Int64sAttr("ends", []int64{math.MaxInt64}), Int64sAttr("axes", []int64{0}))
}

// clip writes Clip(x, lo, hi) as the opset spells it (inputs from 11).
func (e *expander) clip(x, out string, lo, hi float32, dt DType) string {
	if e.opset >= 11 {
		return e.std("Clip", out, []string{x, e.scalar(float64(lo), dt), e.scalar(float64(hi), dt)})
	}
	return e.std("Clip", out, []string{x}, FloatAttr("min", lo), FloatAttr("max", hi))
}

// in returns input i of n ("" when absent).
func in(n *Node, i int) string { return n.Input(i) }

// refuse reports an attribute value an expansion does not handle.
func refuse(format string, args ...any) error {
	return fmt.Errorf("unsupported: "+format, args...)
}
