package lower

import (
	"github.com/warboy-sim/warboy/graph"
)

// ---- written-out patterns ---------------------------------------------------------------------

// Exporters before opset 17 write layer normalization as ReduceMean/Sub/Pow/ReduceMean/
// Add/Sqrt/Div with an affine Mul/Add. Between a DequantizeLinear of its input and a
// QuantizeLinear of its output (the quantizer puts no Q/DQ inside, see
// quantizer/regions.go) it runs as one QLayerNorm, as Warboy's compiler fuses it,
// instead of a chain of float islands.

func (l *lowerer) patternContext() *graph.PatternContext {
	return &graph.PatternContext{
		Prod: l.prod, Cons: l.cons, Const: l.constFloat,
		IsOutput: func(name string) bool { return l.outputs[name] },
		Rank: func(name string) int {
			if s, ok := l.shapeOf(name); ok {
				return len(s)
			}
			return -1
		},
		Opset: l.opset,
	}
}

// findLayerNorms records every written-out layer normalization that reads a
// dequantized activation and is quantized at its end as a group of its last node.
func (l *lowerer) findLayerNorms() {
	ctx := l.patternContext()
	for _, n := range l.g.Nodes {
		if n.OpType != "ReduceMean" || n.Domain != "" || l.inLUT[n] || l.luts[n] != nil || !l.isDQActivation(n.Input(0)) {
			continue
		}
		p := graph.MatchLayerNorm(ctx, n)
		if p == nil {
			continue
		}
		if _, err := l.outQ(p.Output, false); err != nil {
			continue
		}
		last := p.Nodes[len(p.Nodes)-1]
		if l.luts[last] != nil || l.inLUT[last] {
			continue
		}
		grp := &lutGroup{root: p.Input, last: last, ln: p, chanAxis: -1}
		for _, m := range l.g.Nodes { // topological order
			for _, pm := range p.Nodes {
				if m == pm {
					grp.nodes = append(grp.nodes, m)
				}
			}
		}
		l.luts[last] = grp
		for _, m := range p.Nodes {
			if m != last {
				l.inLUT[m] = true
			}
		}
	}
}

// lowerLayerNormPattern emits a matched layer normalization as QLayerNorm over the
// last axis.
func (l *lowerer) lowerLayerNormPattern(grp *lutGroup) error {
	p := grp.ln
	x := l.qIn(p.Input)
	if x == nil {
		return notLowered("its input is not quantized")
	}
	d, err := l.outQ(p.Output, false)
	if err != nil {
		return err
	}
	shape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	if len(shape) == 0 {
		return notLowered("scalar layer normalization")
	}
	last := shape[len(shape)-1]
	vec := func(name string, fill float32) *graph.Tensor {
		if name != "" {
			t := l.constFloat(name)
			if t == nil {
				return nil
			}
			if t.Len() == 1 && last.Known() && last.Size != 1 {
				name, fill = "", t.F32()[0]
			} else if last.Known() && t.Len() != int(last.Size) {
				return nil
			} else {
				return graph.FromFloat32([]int{t.Len()}, t.F32())
			}
		}
		if !last.Known() {
			return nil
		}
		v := make([]float32, last.Size)
		for i := range v {
			v[i] = fill
		}
		return graph.FromFloat32([]int{len(v)}, v)
	}
	g, b := vec(p.Scale, 1), vec(p.Bias, 0)
	if g == nil || b == nil {
		return notLowered("its scale/bias do not match the normalized axis %s", last)
	}
	xin, err := l.plainI8(x)
	if err != nil {
		return err
	}
	ins := []string{xin, l.addInit(p.Output+"_ln_scale", g), l.addInit(p.Output+"_ln_bias", b)}
	store, isOut := l.destStore(d, true, "_q")
	l.emit(grp.last, "QLayerNorm", ins, []string{store}, graph.IntAttr("axis", -1), graph.FloatAttr("epsilon", p.Epsilon),
		graph.FloatAttr("x_scale", x.scale), graph.IntAttr("x_zp", int64(x.zp)), graph.FloatAttr("y_scale", d.scale), graph.IntAttr("y_zp", int64(d.zp)))
	l.bindOut(d, &qref{store: store, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true}, isOut)
	for _, m := range grp.nodes {
		l.claimed[m] = true
	}
	return nil
}
