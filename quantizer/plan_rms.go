package quantizer

import (
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// RMS normalization regions (twenty-first session). LLaMA-style models normalize
// by the root mean square: x / sqrt(mean(x²) + eps) · γ, written out by the
// exporters (torch.onnx: Pow(x, 2) → ReduceMean → Add(eps) → Sqrt → Div → Mul(γ);
// ONNX Runtime's SimplifiedLayerNormalization, which Optimize expands to Mul(x, x)
// → ReduceMean → Add → Sqrt → Div → Mul). The layer-norm pattern (graph.MatchLayerNorm)
// wants the mean subtracted first, so these chains were quantized operator by
// operator: the square (a heavy-tailed tensor on 8 bits), the mean square, the root,
// the normalized value and its scaling were each requantized (ortgenai_int4_llama of
// --unseen15: the first normalization's output 35.7 dB from an input at 39.8 dB, the
// model 27.2 dB; llama_static_cache of --unseen8 likewise). The rule: the chain,
// with its constant scaling, is one region: Q/DQ at its input and output only, the
// inside float32 (as the normalization regions of plan_norm.go).

// rmsRule is the rule of an RMS normalization region.
const rmsRule = "RMS normalization region (quantized at its input and output only)"

// rmsRegions returns the RMS normalization regions of the graph whose nodes are
// neither excluded nor taken by another region.
func (p *plan) rmsRegions(exclude map[string]bool, taken map[*graph.Node]bool) []region {
	single := func(name string) *graph.Node {
		if p.g.IsGraphOutput(name) || len(p.cons[name]) != 1 {
			return nil
		}
		return p.cons[name][0]
	}
	scalar := func(name string) (float32, bool) {
		t := p.g.Initializers[name]
		if t == nil || t.Len() != 1 || t.F32() == nil {
			return 0, false
		}
		return t.F32()[0], true
	}
	other := func(n *graph.Node, name string) string {
		switch {
		case len(n.Inputs) != 2:
			return ""
		case n.Inputs[0] == name:
			return n.Inputs[1]
		case n.Inputs[1] == name:
			return n.Inputs[0]
		}
		return ""
	}
	isOne := func(name string) bool {
		v, ok := scalar(name)
		return ok && v == 1
	}
	is := func(n *graph.Node, op string) bool {
		return n != nil && n.OpType == op && n.Domain == "" && !exclude[n.Name] && !taken[n] && len(n.Outputs) == 1 &&
			!p.touchesMask(n) && !p.makesCoord(n) && !p.turnsInteger(n)
	}
	var out []region
	for _, rm := range p.g.Nodes {
		if !is(rm, "ReduceMean") || !p.lastAxisMean(rm) {
			continue
		}
		sq := p.prod[rm.Input(0)]
		if sq == nil || single(sq.Outputs[0]) != rm {
			continue
		}
		x := sq.Input(0)
		switch {
		case is(sq, "Mul") && sq.Input(1) == x:
		case is(sq, "Pow"):
			if e, ok := scalar(sq.Input(1)); !ok || e != 2 {
				continue
			}
		default:
			continue
		}
		if x == "" || !p.isFloat(x) || p.isConst(x) || p.shapeVals[x] {
			continue
		}
		add := single(rm.Outputs[0])
		if !is(add, "Add") {
			continue
		}
		if _, ok := scalar(other(add, rm.Outputs[0])); !ok {
			continue
		}
		nodes := []*graph.Node{sq, rm, add}
		// The normalization: Sqrt then Div(x, ·), Reciprocal or Div(1, ·) and
		// Mul(x, ·), or Pow(·, -0.5) and Mul(x, ·).
		var norm *graph.Node
		t := single(add.Outputs[0])
		switch {
		case is(t, "Sqrt"):
			nodes = append(nodes, t)
			u := single(t.Outputs[0])
			switch {
			case is(u, "Div") && u.Input(0) == x && u.Input(1) == t.Outputs[0]:
				norm = u
			case is(u, "Reciprocal"), is(u, "Div") && u.Input(1) == t.Outputs[0] && isOne(u.Input(0)):
				if m := single(u.Outputs[0]); is(m, "Mul") && other(m, u.Outputs[0]) == x {
					nodes, norm = append(nodes, u), m
				}
			}
		case is(t, "Pow"):
			if e, ok := scalar(t.Input(1)); ok && e == -0.5 && t.Input(0) == add.Outputs[0] {
				if m := single(t.Outputs[0]); is(m, "Mul") && other(m, t.Outputs[0]) == x {
					nodes, norm = append(nodes, t), m
				}
			}
		}
		if norm == nil || !p.isFloat(norm.Outputs[0]) {
			continue
		}
		nodes = append(nodes, norm)
		end := norm.Outputs[0]
		// The scaling by a constant γ along the last axis.
		if m := single(end); is(m, "Mul") {
			if g := p.g.Initializers[other(m, end)]; g != nil && g.F32() != nil && len(g.Shape) <= 1 {
				nodes, end = append(nodes, m), m.Outputs[0]
			}
		}
		for _, n := range nodes {
			taken[n] = true
		}
		out = append(out, region{root: x, out: end, nodes: nodes})
	}
	return out
}

// lastAxisMean reports whether n is a ReduceMean over the last axis only, keeping
// the dimension.
func (p *plan) lastAxisMean(n *graph.Node) bool {
	if n.AttrInt("keepdims", 1) != 1 {
		return false
	}
	axes := n.AttrIntList("axes")
	if p.opset >= 18 {
		t := p.g.Initializers[n.Input(1)]
		if t == nil {
			return false
		}
		axes = nil
		for _, v := range t.I64() {
			axes = append(axes, int(v))
		}
	}
	if len(axes) != 1 {
		return false
	}
	if axes[0] == -1 {
		return true
	}
	v := p.g.Values[n.Input(0)]
	return v != nil && v.HasShape && axes[0] == len(v.Shape)-1
}

// noteRMSRegion records an RMS normalization region in the notes and the metadata.
func (p *plan) noteRMSRegion(r region) {
	names := make([]string, len(r.nodes))
	for i, n := range r.nodes {
		names[i] = n.Name
	}
	p.ruled = append(p.ruled, FloatRule{Rule: rmsRule, Nodes: names})
	p.notes = append(p.notes, fmt.Sprintf("[%s] stay float32 inside: %s; input %q, output %q", strings.Join(names, " "), rmsRule, r.root, r.out))
}
