package graph

// Regions are subgraphs that run as one int8 operator: the quantizer puts Q/DQ pairs
// only at their boundary (the one activation they read, the one they produce), never
// inside, as Warboy's compiler and ONNX Runtime's transformer optimizer fuse them; the
// simulator times each as one NPU operator. One finder, so the quantizer and the
// simulator agree on what a region is.
//   - elementwise chains computed from one activation and scalar constants (GELU as
//     Div/Erf/Add/Mul/Mul, HardSwish as Add/Clip/Div/Mul, SiLU as Sigmoid/Mul, Mul/Add
//     affine pairs): a 256-entry lookup table on an int8 input;
//   - layer normalization written out as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div
//     with its affine Mul/Add (MatchLayerNorm): one int8 layer norm.

// ElementwiseOps are the operators an elementwise region may contain: every one
// computes each output element from the same element of its inputs.
var ElementwiseOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Max": true, "Min": true,
	"Relu": true, "LeakyRelu": true, "Sigmoid": true, "Tanh": true, "HardSigmoid": true, "HardSwish": true,
	"Erf": true, "Exp": true, "Log": true, "Abs": true, "Neg": true, "Sqrt": true, "Reciprocal": true,
	"Elu": true, "Selu": true, "Celu": true, "Softplus": true, "Softsign": true, "Clip": true,
	"Mish": true, "ThresholdedRelu": true, "Sin": true, "Cos": true,
}

// UnaryElementwise reports whether op is an elementwise function of a single tensor
// (its other inputs, if any, are attributes or scalar bounds such as Clip's).
func UnaryElementwise(op string) bool {
	switch op {
	case "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min":
		return false
	}
	return ElementwiseOps[op]
}

// RegionKind says how a region runs.
type RegionKind int

// Region kinds.
const (
	RegionLUT       RegionKind = iota // an elementwise chain: one table lookup
	RegionLayerNorm                   // a written-out layer normalization
)

// Region is one recognised subgraph.
type Region struct {
	Kind RegionKind
	// Root is the one activation the region reads, Out the one it produces.
	Root, Out string
	// Nodes are the region's operators in graph order; the last one produces Out.
	Nodes []*Node
	// LayerNorm is the matched pattern of a RegionLayerNorm.
	LayerNorm *LayerNormPattern
}

// RegionOptions say which values and nodes a region may use.
type RegionOptions struct {
	// IsFloat reports whether a value is a float activation (regions are float
	// subgraphs between a dequantized input and a quantized output).
	IsFloat func(name string) bool
	// Skip, when set, excludes a node from every region.
	Skip func(n *Node) bool
	// Veto, when set, rejects an elementwise region (the quantizer keeps a Relu/Clip
	// its producer absorbs).
	Veto func(root string, nodes []*Node) bool
}

// FindRegions returns the layer-norm regions, then the elementwise regions, of g (in
// topological order); no node belongs to two regions.
func FindRegions(g *Graph, c *PatternContext, o RegionOptions) []Region {
	var out []Region
	taken := map[*Node]bool{}
	free := func(nodes []*Node) bool {
		for _, n := range nodes {
			if taken[n] || (o.Skip != nil && o.Skip(n)) {
				return false
			}
		}
		return true
	}
	for _, n := range g.Nodes {
		if n.OpType != "ReduceMean" || n.Domain != "" || !o.IsFloat(n.Input(0)) {
			continue
		}
		if ln := MatchLayerNorm(c, n); ln != nil && free(ln.Nodes) {
			for _, m := range ln.Nodes {
				taken[m] = true
			}
			out = append(out, Region{Kind: RegionLayerNorm, Root: ln.Input, Out: ln.Output, Nodes: ln.Nodes, LayerNorm: ln})
		}
	}
	return append(out, elementwiseRegions(g, c, o, taken)...)
}

// elementwiseRegions finds chains of at least two elementwise operators computed from
// one float activation and scalar constants, whose inner values nothing else reads.
func elementwiseRegions(g *Graph, c *PatternContext, o RegionOptions, taken map[*Node]bool) []Region {
	// rootOf maps a value computed elementwise from one activation to that activation.
	rootOf := map[string]string{}
	member := map[*Node]string{}
	for _, n := range g.Nodes {
		if n.Domain != "" || !ElementwiseOps[n.OpType] || len(n.Outputs) != 1 || taken[n] || (o.Skip != nil && o.Skip(n)) || !o.IsFloat(n.Outputs[0]) {
			continue
		}
		root, good := "", true
		for i, in := range n.Inputs {
			if in == "" {
				continue
			}
			if t := c.Const(in); t != nil {
				if t.Len() != 1 || (i == 0 && n.OpType != "Add" && n.OpType != "Mul" && n.OpType != "Max" && n.OpType != "Min") {
					good = false // a non-scalar constant broadcasts; a constant numerator is fine only for commutative ops
				}
				continue
			}
			r := in
			if rr, ok := rootOf[in]; ok {
				r = rr
			}
			if !o.IsFloat(r) || (root != "" && root != r) {
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
	byRoot := map[string][]*Node{}
	for _, n := range g.Nodes {
		if r, ok := member[n]; ok {
			byRoot[r] = append(byRoot[r], n)
		}
	}
	var out []Region
	for _, n := range g.Nodes {
		r, ok := member[n]
		if !ok || byRoot[r] == nil {
			continue
		}
		nodes := byRoot[r]
		byRoot[r] = nil
		var exits []string
		for _, m := range nodes {
			mo := m.Outputs[0]
			leaves := c.IsOutput(mo)
			for _, u := range c.Cons[mo] {
				if member[u] != r {
					leaves = true
				}
			}
			if leaves {
				exits = append(exits, mo)
			}
		}
		if len(nodes) < 2 || len(exits) != 1 || exits[0] != nodes[len(nodes)-1].Outputs[0] || !rankKept(c, r, nodes) ||
			(o.Veto != nil && o.Veto(r, nodes)) {
			continue
		}
		out = append(out, Region{Kind: RegionLUT, Root: r, Out: exits[0], Nodes: nodes})
	}
	return out
}

// rankKept reports whether no scalar constant of the region has a higher rank than its
// root (which would make the output shape differ from the root's).
func rankKept(c *PatternContext, root string, nodes []*Node) bool {
	r := c.Rank(root)
	if r < 0 {
		return false
	}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			if t := c.Const(in); t != nil && len(t.Shape) > r {
				return false
			}
		}
	}
	return true
}
