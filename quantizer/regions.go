package quantizer

import (
	"github.com/warboy-sim/warboy/graph"
)

// Regions are subgraphs that run as one int8 operator: the quantizer puts Q/DQ pairs
// only at their boundary (the one activation they read, the one they produce), never
// inside, as Warboy's compiler and ONNX Runtime's transformer optimizer fuse them.
// Quantizing their interior would both cost accuracy (a variance or an erf value on
// 8 bits) and leave the lowering a chain of float islands.
//   - elementwise chains computed from one activation and scalar constants (GELU as
//     Div/Erf/Add/Mul/Mul, HardSwish as Add/Clip/Div/Mul, Mul/Add affine pairs): the
//     lowering tabulates them as a 256-entry lookup table;
//   - layer normalization written out as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div
//     with its affine Mul/Add: the lowering runs it as one int8 layer norm.

// regionOps are the elementwise operators an elementwise region may contain (every
// one computes each output element from the same element of its inputs).
var regionOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Max": true, "Min": true,
	"Relu": true, "LeakyRelu": true, "Sigmoid": true, "Tanh": true, "HardSigmoid": true, "HardSwish": true,
	"Erf": true, "Exp": true, "Log": true, "Abs": true, "Neg": true, "Sqrt": true, "Reciprocal": true,
	"Elu": true, "Selu": true, "Celu": true, "Softplus": true, "Softsign": true, "Clip": true,
	"Mish": true, "ThresholdedRelu": true, "Sin": true, "Cos": true,
}

// region is one recognised subgraph.
type region struct {
	root, out string
	nodes     []*graph.Node
}

func (p *plan) patternContext() *graph.PatternContext {
	return &graph.PatternContext{
		Prod: p.prod, Cons: p.cons,
		Const:    func(name string) *graph.Tensor { return p.g.Initializers[name] },
		IsOutput: p.g.IsGraphOutput,
		Rank: func(name string) int {
			if v := p.g.Values[name]; v != nil && v.HasShape {
				return len(v.Shape)
			}
			if t := p.g.Initializers[name]; t != nil {
				return len(t.Shape)
			}
			return -1
		},
		Opset: p.opset,
	}
}

// findRegions returns the layer-norm and elementwise regions of the graph, none of
// whose nodes is excluded.
func (p *plan) findRegions(exclude map[string]bool) []region {
	var out []region
	taken := map[*graph.Node]bool{}
	ok := func(nodes []*graph.Node) bool {
		for _, n := range nodes {
			if taken[n] || exclude[n.Name] {
				return false
			}
		}
		return true
	}
	ctx := p.patternContext()
	for _, n := range p.g.Nodes {
		if n.OpType != "ReduceMean" || n.Domain != "" || !p.isFloat(n.Input(0)) {
			continue
		}
		if ln := graph.MatchLayerNorm(ctx, n); ln != nil && ok(ln.Nodes) {
			for _, m := range ln.Nodes {
				taken[m] = true
			}
			out = append(out, region{root: ln.Input, out: ln.Output, nodes: ln.Nodes})
		}
	}
	out = append(out, p.elementwiseRegions(taken, exclude)...)
	return out
}

// elementwiseRegions finds chains of at least two elementwise operators computed from
// one float activation and scalar constants, whose inner values nothing else reads.
func (p *plan) elementwiseRegions(taken map[*graph.Node]bool, exclude map[string]bool) []region {
	// rootOf maps a value computed elementwise from one activation to that activation.
	rootOf := map[string]string{}
	member := map[*graph.Node]string{}
	for _, n := range p.g.Nodes {
		if n.Domain != "" || !regionOps[n.OpType] || len(n.Outputs) != 1 || taken[n] || exclude[n.Name] || !p.isFloat(n.Outputs[0]) {
			continue
		}
		root, good := "", true
		for i, in := range n.Inputs {
			if in == "" {
				continue
			}
			if t := p.g.Initializers[in]; t != nil {
				if t.Len() != 1 || (i == 0 && n.OpType != "Add" && n.OpType != "Mul" && n.OpType != "Max" && n.OpType != "Min") {
					good = false // a non-scalar constant broadcasts; a constant numerator is fine only for commutative ops
				}
				continue
			}
			r := in
			if rr, ok := rootOf[in]; ok {
				r = rr
			}
			if !p.isFloat(r) || (root != "" && root != r) {
				good = false
				break
			}
			root = r
		}
		if !good || root == "" {
			continue
		}
		rootOf[n.Outputs[0]] = root
		member[n] = root
	}
	// A region ends at a member whose output leaves it; every other member's output
	// must be read only by members of the same region.
	byRoot := map[string][]*graph.Node{}
	for _, n := range p.g.Nodes {
		if r, ok := member[n]; ok {
			byRoot[r] = append(byRoot[r], n)
		}
	}
	var out []region
	for _, n := range p.g.Nodes {
		r, ok := member[n]
		if !ok || byRoot[r] == nil {
			continue
		}
		nodes := byRoot[r]
		byRoot[r] = nil
		var exits []string
		for _, m := range nodes {
			o := m.Outputs[0]
			leaves := p.g.IsGraphOutput(o)
			for _, c := range p.cons[o] {
				if member[c] != r {
					leaves = true
				}
			}
			if leaves {
				exits = append(exits, o)
			}
		}
		if len(nodes) < 2 || len(exits) != 1 || exits[0] != nodes[len(nodes)-1].Outputs[0] || !p.rankKept(r, nodes) || p.keepsFusion(r, nodes) {
			continue
		}
		out = append(out, region{root: r, out: exits[0], nodes: nodes})
	}
	return out
}

// rankKept reports whether no scalar constant of the region has a higher rank than its
// root (which would make the output shape differ from the root's).
func (p *plan) rankKept(root string, nodes []*graph.Node) bool {
	v := p.g.Values[root]
	if v == nil || !v.HasShape {
		return false
	}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			if t := p.g.Initializers[in]; t != nil && len(t.Shape) > len(v.Shape) {
				return false
			}
		}
	}
	return true
}

// keepsFusion reports whether the region starts with a Relu/Clip that the producer of
// its root would absorb (Conv → Relu → Mul...): the fused, clamped output has twice the
// resolution of the raw one, so the region is not worth it.
func (p *plan) keepsFusion(root string, nodes []*graph.Node) bool {
	pr := p.prod[root]
	if pr == nil || !fusable[pr.OpType] || len(p.cons[root]) != 1 {
		return false
	}
	first := nodes[0]
	return (first.OpType == "Relu" || first.OpType == "Clip") && first.Input(0) == root
}
