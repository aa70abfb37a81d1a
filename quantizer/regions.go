package quantizer

import (
	"github.com/warboy-sim/warboy/graph"
)

// Regions (graph.FindRegions) are subgraphs that run as one int8 operator: the
// quantizer puts Q/DQ pairs only at their boundary (the one activation they read, the
// one they produce), never inside. Quantizing their interior would both cost accuracy
// (a variance or an erf value on 8 bits) and leave the lowering a chain of float
// islands.

// region is one recognised subgraph.
type region struct {
	root, out string
	nodes     []*graph.Node
	// norm is set for a layer normalization (plan_normrows.go); floatRoot when it
	// reads its root in float32 (the root is not quantized for it).
	norm      *normInput
	floatRoot bool
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
	rs := graph.FindRegions(p.g, p.patternContext(), graph.RegionOptions{
		IsFloat: p.isFloat,
		Skip: func(n *graph.Node) bool {
			return exclude[n.Name] || p.shapeVals[n.Input(0)] || p.touchesMask(n) || p.makesCoord(n) || p.turnsInteger(n)
		},
		Veto: p.keepsFusion,
	})
	taken := map[*graph.Node]bool{}
	for _, r := range rs {
		if r.Kind != graph.RegionLUT {
			for _, n := range r.Nodes {
				taken[n] = true
			}
		}
	}
	// RMS normalizations (plan_rms.go) replace the elementwise regions inside them
	// (Add(eps) → Sqrt).
	rms := p.rmsRegions(exclude, taken)
	out := make([]region, 0, len(rs))
	lut := map[string]int{} // root -> index of an elementwise region
	for _, r := range rs {
		inRMS := false
		for _, n := range r.Nodes {
			inRMS = inRMS || (r.Kind == graph.RegionLUT && taken[n])
		}
		if inRMS {
			continue
		}
		if r.Kind == graph.RegionLUT {
			lut[r.Root] = len(out)
		}
		reg := region{root: r.Root, out: r.Out, nodes: r.Nodes}
		if in, ok := normInputOf(r); ok {
			reg.norm = &in
		}
		out = append(out, reg)
	}
	norms, absorbed := p.normRegions(exclude, taken, lut, out) // plan_norm.go
	kept := out[:0]
	for i, r := range out {
		if !absorbed[i] {
			kept = append(kept, r)
		}
	}
	for i, r := range norms {
		p.noteNormRegion(r)
		if in, ok := layerNormInput(r.nodes, r.root); ok {
			norms[i].norm = &in
		}
	}
	for _, r := range rms {
		p.noteRMSRegion(r)
	}
	return append(append(kept, norms...), rms...)
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

// touchesMask reports whether n reads or writes an attention mask (plan_mask.go).
func (p *plan) touchesMask(n *graph.Node) bool {
	for _, t := range append(append([]string{}, n.Inputs...), n.Outputs...) {
		if p.maskVals[t] {
			return true
		}
	}
	return false
}

// makesCoord reports whether n writes a sampling location (plan_coord.go).
func (p *plan) makesCoord(n *graph.Node) bool {
	for _, o := range n.Outputs {
		if p.coordVals[o] {
			return true
		}
	}
	return false
}
