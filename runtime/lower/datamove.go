package lower

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// ---- data movement ---------------------------------------------------------------------------------

func (l *lowerer) lowerIdentity(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" && len(l.cons[n.Outputs[1]]) > 0 {
		return notLowered("the dropout mask is used")
	}
	l.state(n.Outputs[0]).q = x
	return nil
}

func (l *lowerer) lowerReshape(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	out, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	if _, ok := shapeTemplate(out, x.base); !ok {
		// a shape computed at run time (a Shape/Gather/Concat subgraph over symbolic
		// dimensions): move the int8 data with the operator itself.
		return l.reshapeExplicit(n, x, out)
	}
	unknown := 0
	for _, d := range out {
		if !d.Known() {
			unknown++
		}
	}
	if slices.Equal(out, x.base) && unknown > 1 && !slices.Equal(out, x.shape) {
		return l.reshapeExplicit(n, x, out)
	}
	nr := *x
	nr.shape = out
	l.state(n.Outputs[0]).q = &nr
	return nil
}

// reshapeExplicit emits a reshape-like operator on the int8 tensor (its shape inputs
// as they are), for output shapes a folded view cannot express.
func (l *lowerer) reshapeExplicit(n *graph.Node, x *qref, out graph.Shape) error {
	xin, err := l.plainI8(x)
	if err != nil {
		return err
	}
	ins := []string{xin}
	for _, in := range n.Inputs[1:] {
		name := in
		if in != "" {
			if name, err = l.need(in); err != nil {
				return fmt.Errorf("%s: %w", n.Label(), err)
			}
		}
		ins = append(ins, name)
	}
	var attrs []*graph.Attr
	for _, a := range n.Attrs {
		attrs = append(attrs, a)
	}
	s := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, n.OpType, ins, []string{s}, attrs...)
	l.state(n.Outputs[0]).q = &qref{store: s, base: out, shape: out, scale: x.scale, zp: x.zp, exact: x.exact}
	return nil
}

func (l *lowerer) lowerTranspose(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if l.lowerChannelShuffle(n, x) {
		return nil
	}
	if x.reshaped() {
		s, err := l.plainI8(x)
		if err != nil {
			return err
		}
		c := *x
		c.store, c.perm, c.base = s, nil, x.shape
		x = &c
	}
	rank := len(x.shape)
	t := n.AttrIntList("perm")
	if t == nil {
		t = make([]int, rank)
		for i := range t {
			t[i] = rank - 1 - i
		}
	}
	if qtensor.ValidPerm(t, rank) != nil {
		return notLowered("bad perm %v", t)
	}
	p := x.perm
	if p == nil {
		p = make([]int, rank)
		for i := range p {
			p[i] = i
		}
	}
	tinv := qtensor.InvertPerm(t)
	np := make([]int, rank)
	for j := range np {
		np[j] = tinv[p[j]]
	}
	nb := permuteDims(x.base, t)
	nr := *x
	nr.base, nr.shape, nr.perm = nb, nb, np
	if qtensor.IsIdentityPerm(np) {
		nr.perm = nil
	}
	if shape, ok := l.shapeOf(n.Outputs[0]); ok && len(shape) == rank {
		for i := range shape {
			if shape[i].Known() || shape[i].Param != "" {
				nr.shape[i] = shape[i]
			}
		}
		nr.base = nr.shape
	}
	l.state(n.Outputs[0]).q = &nr
	return nil
}

// concatInputs brings all inputs to the parameters (s, zp) and a common layout.
func (l *lowerer) lowerConcat(n *graph.Node) error {
	var refs []*qref
	for _, in := range n.Inputs {
		r := l.qIn(in)
		if r == nil {
			// A quantized constant (the class token of a ViT, folded with its
			// Expand by the quantizer) joins as an int8 initializer.
			r = l.constRef(in)
		}
		if r == nil {
			return notLowered("input %q is not quantized", in)
		}
		refs = append(refs, r)
	}
	out := n.Outputs[0]
	shape, err := l.outShape(out)
	if err != nil {
		return err
	}
	rank := len(shape)
	ax, err := graph.NormalizeAxis(n.AttrInt("axis", 1), rank)
	if err != nil {
		return notLowered("%v", err)
	}
	s, zp := refs[0].scale, refs[0].zp
	var d *qdest
	same := true
	for _, r := range refs[1:] {
		same = same && r.scale == s && r.zp == zp
	}
	if !same {
		if d, err = l.outQ(out, false); err != nil {
			return notLowered("inputs have different quantization parameters and %v", err)
		}
		s, zp = d.scale, d.zp
	}
	common := refs[0].perm
	layoutOK := !qtensor.IsIdentityPerm(common)
	for _, r := range refs {
		layoutOK = layoutOK && !r.reshaped() && len(r.shape) == rank && slices.Equal(r.perm, common)
	}
	ins := make([]string, len(refs))
	for i, r := range refs {
		if r.scale != s || r.zp != zp {
			if r, err = l.requantRef(n, r, s, zp); err != nil {
				return err
			}
		}
		if layoutOK {
			ins[i] = r.store
		} else if ins[i], err = l.plainI8(r); err != nil {
			return err
		}
	}
	stAx := ax
	var perm []int
	if layoutOK {
		perm = common
		stAx = qtensor.InvertPerm(common)[ax]
	}
	r := &qref{perm: perm, base: shape, shape: shape, scale: s, zp: zp, exact: true}
	if d != nil {
		store, isOut := l.destStore(d, r.plain(), "_q")
		r.store = store
		l.emit(n, "Concat", ins, []string{store}, graph.IntAttr("axis", int64(stAx)))
		l.bindOut(d, r, isOut)
		return nil
	}
	r.store = l.fresh(out + "_q")
	l.emit(n, "Concat", ins, []string{r.store}, graph.IntAttr("axis", int64(stAx)))
	l.state(out).q = r
	return nil
}

// lowerShape reads the shape of an int8-represented value without dequantizing it:
// from a constant when shape inference knows it, else from the int8 tensor.
func (l *lowerer) lowerShape(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	out := n.Outputs[0]
	if t := l.consts[out]; t != nil {
		l.inits[out] = t
		l.state(out).avail = true
		return nil
	}
	src, err := l.plainI8(x)
	if err != nil {
		return err
	}
	c := n.Clone()
	c.Inputs = []string{src}
	l.nodes = append(l.nodes, c)
	l.state(out).avail = true
	return nil
}

// lowerDataMove runs a data-movement operator on int8 data. Pad, Slice and Resize
// keep a channels-last input channels-last (their per-axis constants are permuted);
// the others work on the logical layout.
// lowerReduceMaxMin runs ReduceMax / ReduceMin on the int8 codes: the largest
// code dequantizes to the largest value (a positive scale), so the result is
// one of the input's codes with its parameters. A reduction known to be empty
// (a float -inf or +inf) is left to float32. A reduced axis of symbolic size (a
// point cloud's point count, a sentence's length: PointNet's global max over
// points of --unseen12 ran in float32 before, three float islands per model)
// is lowered: should it be empty at run time the integer kernel gives the
// lowest (highest) code, which is what QuantizeLinear makes of -inf (+inf).
func (l *lowerer) lowerReduceMaxMin(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if !(x.scale > 0) {
		return notLowered("its input's scale %g is not positive", x.scale)
	}
	axes, ok := l.reducedAxes(n, len(x.shape))
	if !ok {
		return notLowered("its axes are not constant")
	}
	for _, a := range axes {
		if d := x.shape[a]; d.Known() && d.Size == 0 {
			return notLowered("it reduces the empty axis %d of %v", a, x.shape)
		}
	}
	return l.lowerDataMove(n)
}

// reducedAxes are the axes a Reduce* node reduces (normalised; all of them when
// it names none), false when they are not known at lowering.
func (l *lowerer) reducedAxes(n *graph.Node, rank int) ([]int, bool) {
	axes := n.AttrInts("axes", nil)
	if graph.ReduceAxesFromInput(n.OpType, l.opset) {
		axes = nil
		if in := n.Input(1); in != "" {
			t := l.constOf(in)
			if t == nil {
				return nil, false
			}
			axes = t.I64()
		}
	}
	if len(axes) == 0 {
		if n.AttrInt("noop_with_empty_axes", 0) != 0 {
			return nil, true
		}
		all := make([]int, rank)
		for i := range all {
			all[i] = i
		}
		return all, true
	}
	na, err := graph.NormalizeAxes(axes, rank)
	if err != nil {
		return nil, false
	}
	return na, true
}

func (l *lowerer) lowerDataMove(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	switch n.OpType {
	case "Resize":
		if n.AttrString("mode", "nearest") == "cubic" {
			// The codes keep the input's scale and range, which is exact for nearest
			// and linear (their weights are convex: the result stays in the input's
			// range) but not for cubic: its negative lobes overshoot at edges, below
			// a Relu's zero and above the maximum, and the codes would saturate
			// there while the QDQ graph's output scale holds the overshoot.
			return notLowered("cubic interpolation leaves the input's range (negative weights)")
		}
		// interpolating modes run on the codes, rounded once (runtime/op_int8_resize.go);
		// tf_crop_and_resize's extrapolation value becomes the code QuantizeLinear gives
		// it (an integer, so the final rounding keeps it).
		if n.AttrString("coordinate_transformation_mode", "") == "tf_crop_and_resize" {
			v := n.AttrFloat("extrapolation_value", 0)
			c := *n
			c.Attrs = make(map[string]*graph.Attr, len(n.Attrs))
			for k, a := range n.Attrs {
				c.Attrs[k] = a
			}
			c.SetAttrFloat("extrapolation_value", float32(qtensor.QuantizeRound(v, x.scale, x.zp, -128, 127)))
			n = &c
		}
	case "Pad":
		if l.opset < 11 {
			return notLowered("Pad before opset 11")
		}
	}
	ins := make([]string, len(n.Inputs))
	for i, in := range n.Inputs[1:] {
		if n.OpType == "Pad" && i == 1 && in != "" {
			cv := l.constFloat(in)
			if cv == nil || cv.Len() != 1 {
				return notLowered("non-constant pad value")
			}
			// The padded output keeps the input's encoding, so the value must be one of
			// its codes: a value off that grid (F.pad(x, p, value=0.5) after a Relu
			// whose range ends at 0.34) would saturate or round twice, where the QDQ
			// graph quantizes it once with the Pad's own output scale.
			v := cv.F32()[0]
			code := qtensor.QuantizeRound(v, x.scale, x.zp, -128, 127)
			if back := float64(code-x.zp) * float64(x.scale); math.Abs(back-float64(v)) > 1e-6*math.Max(1, math.Abs(float64(v))) {
				return notLowered("pad value %g is not on the input's int8 grid (scale %g, zero point %d)", v, x.scale, x.zp)
			}
			ins[2] = l.scalarI8(in+"_int8", code)
			continue
		}
		name, err := l.need(in)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		ins[i+1] = name
	}
	if n.OpType == "Pad" && n.Input(2) == "" && x.zp != 0 {
		for len(ins) < 3 {
			ins = append(ins, "")
		}
		ins[2] = l.scalarI8(n.Outputs[0]+"_pad_int8", x.zp)
	}
	var perm []int
	if rank := len(x.shape); (rank == 3 || rank == 4) && qtensor.IsIdentityPerm(x.perm) && !x.reshaped() &&
		(n.OpType == "Pad" || n.OpType == "Slice" || n.OpType == "Resize") && l.feedsChannelsLast(n.Outputs[0], 6) {
		// e.g. an explicit Pad before a convolution: go channels-last before it
		store, err := l.channelsLast(x)
		if err != nil {
			return err
		}
		c := *x
		c.store, c.perm = store, qtensor.ChannelsLastPerm(rank)
		x = &c
	}
	if p, remapped := l.channelsLastInputs(n, x, ins); remapped {
		perm = p
		ins[0] = x.store
	} else {
		xin, err := l.plainI8(x)
		if err != nil {
			return err
		}
		ins[0] = xin
	}
	var outs []string
	var refs []*qref
	for _, o := range n.Outputs {
		if o == "" {
			outs = append(outs, "")
			refs = append(refs, nil)
			continue
		}
		shape, err := l.outShape(o)
		if err != nil {
			return err
		}
		s := l.fresh(o + "_q")
		outs = append(outs, s)
		refs = append(refs, &qref{store: s, perm: perm, base: shape, shape: shape, scale: x.scale, zp: x.zp, exact: true})
	}
	var attrs []*graph.Attr
	for _, a := range n.Attrs {
		attrs = append(attrs, a)
	}
	l.emit(n, n.OpType, ins, outs, attrs...)
	for i, o := range n.Outputs {
		if o != "" {
			l.state(o).q = refs[i]
		}
	}
	return nil
}

// feedsChannelsLast reports whether a value reaches a convolution or pooling within
// depth operators, through quantization and data-movement operators.
func (l *lowerer) feedsChannelsLast(name string, depth int) bool {
	if depth == 0 {
		return false
	}
	for _, c := range l.cons[name] {
		switch c.OpType {
		case "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "QLinearConv":
			return true
		case "QuantizeLinear", "DequantizeLinear", "Pad", "Slice", "Resize", "Relu", "Clip", "Identity":
			if len(c.Outputs) > 0 && l.feedsChannelsLast(c.Outputs[0], depth-1) {
				return true
			}
		}
	}
	return false
}

// channelsLastInputs rewrites the per-axis constant inputs of Pad, Slice and Resize
// (in ins) for a channels-last input, and returns the layout of the output.
func (l *lowerer) channelsLastInputs(n *graph.Node, x *qref, ins []string) ([]int, bool) {
	if qtensor.IsIdentityPerm(x.perm) || x.reshaped() {
		return nil, false
	}
	r := len(x.perm)
	p := x.perm
	permute := func(name string, per int) (string, bool) {
		t := l.constOf(name)
		if t == nil || t.Len() != per*r {
			return "", false
		}
		var out *graph.Tensor
		switch d := t.Data.(type) {
		case []int64:
			o := make([]int64, len(d))
			for k := 0; k < per; k++ {
				for j := 0; j < r; j++ {
					o[k*r+j] = d[k*r+p[j]]
				}
			}
			out = graph.FromInt64(t.Shape, o)
		case []float32:
			o := make([]float32, len(d))
			for k := 0; k < per; k++ {
				for j := 0; j < r; j++ {
					o[k*r+j] = d[k*r+p[j]]
				}
			}
			out = graph.FromFloat32(t.Shape, o)
		default:
			return "", false
		}
		return l.addInit(name+"_nhwc", out), true
	}
	switch n.OpType {
	case "Pad":
		if n.Input(3) != "" || n.HasAttr("pads") {
			return nil, false
		}
		pads, ok := permute(n.Input(1), 2)
		if !ok {
			return nil, false
		}
		ins[1] = pads
	case "Slice":
		if l.opset < 10 || n.Input(3) == "" {
			// default axes 0..k-1 would have to be materialized with their count
			st := l.constOf(n.Input(1))
			if l.opset < 10 || st == nil {
				return nil, false
			}
			axes := make([]int64, st.Len())
			for i := range axes {
				axes[i] = int64(qtensor.InvertPerm(p)[i])
			}
			for len(ins) < 4 {
				ins = append(ins, "")
			}
			ins[3] = l.addInit(n.Outputs[0]+"_axes_nhwc", graph.FromInt64([]int{len(axes)}, axes))
			return p, true
		}
		at := l.constOf(n.Input(3))
		if at == nil {
			return nil, false
		}
		ax, err := at.AsInt64()
		if err != nil {
			return nil, false
		}
		inv := qtensor.InvertPerm(p)
		axes := make([]int64, len(ax))
		for i, a := range ax {
			na, err := graph.NormalizeAxis(a, r)
			if err != nil {
				return nil, false
			}
			axes[i] = int64(inv[na])
		}
		ins[3] = l.addInit(n.Input(3)+"_nhwc", graph.FromInt64([]int{len(axes)}, axes))
	case "Resize":
		if n.AttrString("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize" {
			return nil, false
		}
		if n.AttrInts("axes", nil) != nil {
			return nil, false // scales or sizes for some axes only: not permuted here
		}
		switch {
		case n.Input(3) != "":
			sizes, ok := permute(n.Input(3), 1)
			if !ok {
				return nil, false
			}
			ins[3] = sizes
		case n.Input(2) != "":
			scales, ok := permute(n.Input(2), 1)
			if !ok {
				return nil, false
			}
			ins[2] = scales
		default:
			return nil, false
		}
	default:
		return nil, false
	}
	return p, true
}
