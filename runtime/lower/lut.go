package lower

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// ---- LUT groups -------------------------------------------------------------------------------

// findLUTGroups finds elementwise subgraphs computed from one dequantized tensor and
// quantized at the end: they become a 256-entry lookup table.
func (l *lowerer) findLUTGroups() {
	for _, q := range l.g.Nodes {
		if q.OpType != "QuantizeLinear" || q.Domain != "" {
			continue
		}
		y := q.Input(0)
		last := l.prod[y]
		if last == nil || last.Domain != "" || !lutOps[last.OpType] || l.luts[last] != nil || l.inLUT[last] {
			continue
		}
		if _, err := l.outQ(y, false); err != nil {
			continue
		}
		grp := l.collectLUT(last)
		if grp == nil {
			continue
		}
		l.luts[last] = grp
		for _, m := range grp.nodes {
			if m != last {
				l.inLUT[m] = true
			}
		}
	}
}

func (l *lowerer) isDQActivation(name string) bool {
	p := l.prod[name]
	if p == nil || p.OpType != "DequantizeLinear" || p.Domain != "" {
		return false
	}
	if l.constOf(p.Input(0)) != nil {
		return false
	}
	dt := l.dtype(p.Input(0))
	_, _, _, ok := l.qparams(p.Input(1), p.Input(2), dt)
	return ok && (dt == graph.Int8 || dt == graph.Uint8)
}

func (l *lowerer) isScalarConst(name string) bool {
	if t := l.constOf(name); t != nil {
		return t.Len() == 1 && t.DType.IsFloat()
	}
	p := l.prod[name]
	if p != nil && p.OpType == "DequantizeLinear" && l.constOf(p.Input(0)) != nil {
		return l.constOf(p.Input(0)).Len() == 1
	}
	return false
}

func (l *lowerer) collectLUT(last *graph.Node) *lutGroup {
	in := map[*graph.Node]bool{}
	root := ""
	var chans []string // constants of one value per channel (chanlut.go)
	stack := []*graph.Node{last}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if in[n] {
			continue
		}
		if n.Domain != "" || !lutOps[n.OpType] || len(n.Outputs) != 1 {
			return nil
		}
		in[n] = true
		for _, x := range n.Inputs {
			switch {
			case x == "":
			case l.isScalarConst(x):
			case l.isDQActivation(x):
				if root != "" && root != x {
					return nil
				}
				root = x
			case l.isChanConst(x):
				chans = append(chans, x)
			default:
				p := l.prod[x]
				if p == nil {
					return nil
				}
				stack = append(stack, p)
			}
		}
	}
	if root == "" {
		return nil
	}
	if !l.shapePreserved(root, last.Outputs[0], in) {
		return nil
	}
	for n := range in {
		if n == last {
			continue
		}
		o := n.Outputs[0]
		if l.outputs[o] {
			return nil
		}
		for _, c := range l.cons[o] {
			if !in[c] {
				return nil
			}
		}
	}
	grp := &lutGroup{root: root, last: last, chanAxis: -1}
	if len(chans) > 0 && !l.setChanAxis(grp, chans) {
		return nil
	}
	for _, n := range l.g.Nodes { // topological order
		if in[n] {
			grp.nodes = append(grp.nodes, n)
		}
	}
	return grp
}

// shapePreserved reports whether a group's output has its root's shape: the shapes
// say so, or (with dimensions shape inference could not name) every other input of the
// group is a scalar of no higher rank than the root, so broadcasting changes nothing.
func (l *lowerer) shapePreserved(root, out string, in map[*graph.Node]bool) bool {
	rs, ok1 := l.shapeOf(root)
	ys, ok2 := l.shapeOf(out)
	if !ok1 || !ok2 || len(rs) != len(ys) {
		return false
	}
	if sameDims(rs, ys) {
		return true
	}
	for n := range in {
		for _, x := range n.Inputs {
			if x == "" || x == root {
				continue
			}
			if s, ok := l.shapeOf(x); ok && l.isScalarConst(x) && len(s) > len(rs) {
				return false
			}
			if t := l.constOf(x); t != nil && len(t.Shape) > len(rs) {
				return false
			}
		}
	}
	return true
}

// evalLUT evaluates the group's float subgraph on the 256 values of the input code.
func (l *lowerer) evalLUT(grp *lutGroup, r *qref) ([]float32, error) {
	xs := make([]float32, 256)
	for q := -128; q < 128; q++ {
		xs[q+128] = float32(int32(q)-r.zp) * r.scale
	}
	return l.evalGroup(grp, graph.FromFloat32([]int{256}, xs))
}

// evalGroup runs the group's float subgraph (the float executor's own kernels)
// on x in place of its root and returns the output, which must have x's length.
func (l *lowerer) evalGroup(grp *lutGroup, x *graph.Tensor) ([]float32, error) {
	const xn = "lut_input"
	mg := &graph.Graph{Name: "lut", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	mg.Inputs = []*graph.Value{{Name: xn, DType: graph.Float32, Shape: graph.ShapeOf(x.Shape...), HasShape: true}}
	out := grp.last.Outputs[0]
	mg.Outputs = []*graph.Value{{Name: out, DType: graph.Float32}}
	for _, n := range grp.nodes {
		c := n.Clone()
		for i, in := range c.Inputs {
			switch {
			case in == "":
			case in == grp.root:
				c.Inputs[i] = xn
			case l.isScalarConst(in):
				t := l.constFloat(in)
				if t == nil {
					return nil, fmt.Errorf("constant %q", in)
				}
				mg.Initializers[in] = graph.FromFloat32(nil, []float32{t.F32()[0]})
			case grp.chanAxis >= 0 && l.isChanConst(in):
				t := l.constFloat(in)
				if t == nil {
					return nil, fmt.Errorf("constant %q", in)
				}
				mg.Initializers[in] = graph.FromFloat32(append([]int(nil), t.Shape...), t.F32())
			}
		}
		mg.Nodes = append(mg.Nodes, c)
	}
	mm := &graph.Model{Graph: mg, IRVersion: l.m.IRVersion, Opsets: l.m.Opsets}
	res, err := l.exec.EvalFloat(mm, map[string]*graph.Tensor{xn: x})
	if err != nil {
		return nil, err
	}
	y := res[out]
	if y == nil || y.F32() == nil || len(y.F32()) != x.Len() {
		return nil, fmt.Errorf("unexpected result")
	}
	return y.F32(), nil
}

func (l *lowerer) lowerLUT(grp *lutGroup) error {
	r := l.qIn(grp.root)
	if r == nil {
		return notLowered("its input is not quantized")
	}
	if grp.chanAxis >= 0 {
		return l.lowerChanLUT(grp, r)
	}
	d, err := l.outQ(grp.last.Outputs[0], false)
	if err != nil {
		return err
	}
	return l.lowerLUTTo(grp, r, d)
}

// lowerLUTTo emits the group's lookup table from r's codes to d's.
func (l *lowerer) lowerLUTTo(grp *lutGroup, r *qref, d *qdest) error {
	ys, err := l.evalLUT(grp, r)
	if err != nil {
		return notLowered("its lookup table could not be computed: %v", err)
	}
	tbl := make([]int8, 256)
	for q := -128; q < 128; q++ {
		tbl[uint8(int8(q))] = int8(qtensor.QuantizeRound(ys[q+128], d.scale, d.zp, d.qmin, d.qmax))
	}
	ti := l.addInit(grp.last.Outputs[0]+"_lut", graph.FromInt8([]int{256}, tbl))
	store, isOut := l.destStore(d, r.plain(), "_q")
	l.emit(grp.last, "QLUT", []string{r.store, ti}, []string{store})
	nr := *r
	nr.store, nr.scale, nr.zp, nr.exact = store, d.scale, d.zp, true
	l.bindOut(d, &nr, isOut)
	for _, m := range grp.nodes {
		l.claimed[m] = true
	}
	return nil
}
