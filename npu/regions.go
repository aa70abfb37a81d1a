package npu

import (
	"github.com/warboy-sim/warboy/graph"
)

// Regions (graph.FindRegions, the same finder the quantizer uses to keep Q/DQ out of
// them) run on Warboy as one operator between one int8 input and one int8 output:
//   - an elementwise chain of one activation (GELU written with Erf, HardSwish as
//     Add/Clip/Div/Mul, HardSigmoid+Mul, SiLU) is a function of one int8 value, so the
//     compiler tabulates it: one table lookup per element on the vector engine
//     (num_table_ports), or in the requantisation epilogue of the MAC operator that
//     produces its input;
//   - a written-out layer normalization is one normalisation on the vector engine
//     (norm_passes), as the SDK's optimizer fuses it (warboy.md 1.6).
// Their inside is float in the ONNX graph (no Q/DQ), so without this they would be
// timed as float host fallbacks.

// regionLinear are the operators a chain can apply in the requantisation arithmetic
// (scale, shift, clamp) without a table, as long as they combine the activation with
// constants only.
var regionLinear = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Relu": true, "Clip": true, "LeakyRelu": true,
	"Max": true, "Min": true, "Neg": true, "Abs": true,
}

func (a *analysis) patternContext() *graph.PatternContext {
	return &graph.PatternContext{
		Prod: a.g.Producers(), Cons: a.g.Consumers(),
		Const:    func(name string) *graph.Tensor { return a.constVals[name] },
		IsOutput: a.g.IsGraphOutput,
		Rank: func(name string) int {
			if v := a.values[name]; v != nil && v.HasShape {
				return len(v.Shape)
			}
			return -1
		},
		Opset: a.opset,
	}
}

// mergeRegions replaces the steps of every region whose input and output are
// quantized by one step (the region's last node keeps it): a table lookup (kEltwise
// with lut set, or no table when the chain is piecewise linear) or a normalisation
// (kNorm). A region whose ends the quantizer left in float stays as it is (host).
func mergeRegions(p *program, a *analysis) {
	isFloat := func(name string) bool {
		v := a.values[name]
		return v != nil && v.DType.IsFloat() && !a.consts[name]
	}
	byNode := map[*graph.Node]*lop{}
	for _, l := range p.steps {
		if l.node != nil {
			byNode[l.node] = l
		}
	}
	for _, r := range graph.FindRegions(a.g, a.patternContext(), graph.RegionOptions{IsFloat: isFloat}) {
		var ls []*lop
		member := map[*lop]bool{}
		for _, n := range r.Nodes {
			if l := byNode[n]; l != nil && !l.dead {
				ls = append(ls, l)
				member[l] = true
			}
		}
		if len(ls) != len(r.Nodes) {
			continue
		}
		last := ls[len(ls)-1]
		var root *vt
		ok := len(last.out) == 1 && last.out[0].quant
		for _, l := range ls {
			for _, t := range l.in {
				if t.prod != nil && member[t.prod] {
					continue
				}
				if root != nil && root != t {
					ok = false
				}
				root = t
			}
		}
		if !ok || root == nil || !root.int8 {
			continue
		}
		lut := false
		var ops []string
		for _, l := range ls {
			ops = append(ops, l.opType)
			if !regionLinear[l.opType] || len(l.in) > 1 {
				lut = true // a transcendental, or the activation combined with itself (x*x, x*sigmoid(x))
			}
		}
		var nodes []string
		var cBytes int64
		for _, l := range ls {
			nodes = append(nodes, l.nodes...)
			cBytes += l.cBytes
			if l != last {
				l.dead = true
			}
		}
		var users []*lop
		for _, u := range root.users {
			if !member[u] {
				users = append(users, u)
			}
		}
		root.users = append(users, last)
		last.in = []*vt{root}
		last.nodes, last.cBytes, last.fused = nodes, cBytes, ops
		if r.Kind == graph.RegionLayerNorm {
			last.region, last.opType = regionNorm, "LayerNorm"
		} else {
			last.region, last.opType, last.lut = regionTable, "ElementwiseLUT", lut
		}
	}
	p.renumber()
}
