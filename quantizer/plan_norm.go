package quantizer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Normalization regions (nineteenth session). torch.onnx writes nn.GroupNorm as
// Reshape → InstanceNormalization → Reshape → Mul(γ) → Add(β), and a SiLU (Sigmoid,
// Mul) or another activation usually follows. Quantized operator by operator, that
// is four roundings where one would do: the normalized tensor, its scaling by γ,
// the shift by β and the activation are each requantized. A diffusion U-Net has
// one such chain per half residual block (ddpm_unet_op13 of --unseen12: 16 of
// them, 22.1 dB from float32; the first block alone lost 5 dB in its first chain
// while the convolutions cost 0.2-0.8 dB each). The rule: a normalization
// operator (InstanceNormalization, GroupNormalization, LayerNormalization with
// constant parameters), with the Reshape around it, the affine Mul/Add by constants
// after it and the elementwise activation after those, is one region: Q/DQ at its
// input and its output only, the inside in float32 (the int8 executor runs the
// chain as one fused float32 group normalization with its activation, ONNX Runtime
// computes it in float). A normalization followed by nothing of that (a
// convolution reads it directly) is left as it was: nothing would be saved.

// FloatRule is a set of nodes a stated rule keeps in float32 in a quantized model
// (the model's MetaFloatRules metadata).
type FloatRule struct {
	Rule  string   `json:"rule"`
	Nodes []string `json:"nodes"`
}

// normRule is the rule of a normalization region.
const normRule = "normalization region (quantized at its input and output only)"

// FloatRules reads a quantized model's MetaFloatRules (nil when there are none).
func FloatRules(m *graph.Model) ([]FloatRule, error) {
	s := m.Metadata[MetaFloatRules]
	if s == "" {
		return nil, nil
	}
	var out []FloatRule
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("metadata %s: %w", MetaFloatRules, err)
	}
	return out, nil
}

// noteNormRegion records a normalization region in the notes and the metadata.
func (p *plan) noteNormRegion(r region) {
	names := make([]string, len(r.nodes))
	for i, n := range r.nodes {
		names[i] = n.Name
	}
	p.ruled = append(p.ruled, FloatRule{Rule: normRule, Nodes: names})
	p.notes = append(p.notes, fmt.Sprintf("[%s] stay float32 inside: %s; input %q, output %q", strings.Join(names, " "), normRule, r.root, r.out))
}

// normOps are the normalization operators that head a normalization region, with
// the indices of their constant parameter inputs.
var normOps = map[string][]int{
	"InstanceNormalization": {1, 2},
	"GroupNormalization":    {1, 2},
	"LayerNormalization":    {1, 2},
}

// normRegions returns the normalization regions of the graph, none of whose nodes is
// excluded or belongs to another region; lut are the elementwise regions found
// before (an activation after the normalization joins it: the LUT region is
// replaced by the larger one).
func (p *plan) normRegions(exclude map[string]bool, taken map[*graph.Node]bool, lut map[string]int, rs []region) ([]region, map[int]bool) {
	var out []region
	absorbed := map[int]bool{}
	ok := func(n *graph.Node) bool {
		return n != nil && n.Domain == "" && !taken[n] && !exclude[n.Name] && len(n.Outputs) == 1 && p.isFloat(n.Outputs[0]) && !p.turnsInteger(n)
	}
	// single returns the one consumer of name when nothing else reads it.
	single := func(name string) *graph.Node {
		if p.g.IsGraphOutput(name) || len(p.cons[name]) != 1 {
			return nil
		}
		return p.cons[name][0]
	}
	for _, n := range p.g.Nodes {
		params, isNorm := normOps[n.OpType]
		if !isNorm || !ok(n) {
			continue
		}
		good := true
		for _, i := range params {
			if in := n.Input(i); in != "" && !p.isConst(in) {
				good = false
			}
		}
		if !good {
			continue
		}
		nodes := []*graph.Node{n}
		root := n.Input(0)
		if pr := p.prod[root]; pr != nil && pr.OpType == "Reshape" && ok(pr) && single(root) == n && p.isFloat(pr.Input(0)) {
			nodes = []*graph.Node{pr, n}
			root = pr.Input(0)
		}
		if !p.isFloat(root) || p.isConst(root) || p.shapeVals[root] {
			continue
		}
		tail := n.Outputs[0]
		gained := 0 // roundings the region removes
		var act []*graph.Node
		end := ""
		// absorb ends the walk with the elementwise region rooted at the tail, if any.
		absorb := func() bool {
			i, found := lut[tail]
			if !found || absorbed[i] {
				return false
			}
			act, end = rs[i].nodes, rs[i].out
			absorbed[i] = true
			return true
		}
		if !absorb() {
			if c := single(tail); c != nil && c.OpType == "Reshape" && ok(c) {
				nodes = append(nodes, c)
				tail = c.Outputs[0]
			}
		}
		for _, op := range []string{"Mul", "Add"} {
			if act != nil || absorb() {
				break
			}
			c := single(tail)
			if c == nil || c.OpType != op || !ok(c) || len(c.Inputs) != 2 {
				continue
			}
			other := c.Inputs[0]
			if other == tail {
				other = c.Inputs[1]
			}
			if !p.isConst(other) || other == tail {
				continue
			}
			nodes = append(nodes, c)
			tail = c.Outputs[0]
			gained++
		}
		// The activation: an elementwise region rooted at the tail, or one unary
		// elementwise operator.
		if act == nil && !absorb() {
			if c := single(tail); c != nil && graph.UnaryElementwise(c.OpType) && ok(c) && !p.touchesMask(c) {
				act, end = []*graph.Node{c}, c.Outputs[0]
			}
		}
		if act != nil {
			gained++
		} else {
			end = tail
		}
		if gained == 0 {
			continue
		}
		nodes = append(nodes, act...)
		for _, m := range nodes {
			taken[m] = true
		}
		out = append(out, region{root: root, out: end, nodes: nodes})
	}
	return out, absorbed
}
