package lower

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// ---- pooling -----------------------------------------------------------------------------------

func (l *lowerer) poolAttrs(n *graph.Node, x *qref) ([]*graph.Attr, error) {
	ks := n.AttrIntList("kernel_shape")
	k := len(x.shape) - 2
	if len(ks) != k {
		return nil, notLowered("kernel_shape %v does not match the input rank", ks)
	}
	strides, dil := intsOr(n, "strides", k, 1), intsOr(n, "dilations", k, 1)
	pads, err := explicitPads(n, x.shape[2:], ks, strides, dil)
	if err != nil {
		return nil, err
	}
	return []*graph.Attr{graph.IntsAttr("kernel_shape", ks), graph.IntsAttr("strides", strides), graph.IntsAttr("dilations", dil), graph.IntsAttr("pads", pads),
		graph.IntAttr("ceil_mode", n.AttrInt("ceil_mode", 0))}, nil
}

func (l *lowerer) lowerMaxPool(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if rank := len(x.shape); rank != 3 && rank != 4 && rank != 5 {
		return notLowered("only 1-D, 2-D and 3-D max pooling runs int8")
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		return notLowered("the Indices output is used")
	}
	attrs := []*graph.Attr{graph.StringAttr("kind", "gmax")}
	if n.OpType == "MaxPool" {
		pa, err := l.poolAttrs(n, x)
		if err != nil {
			return err
		}
		attrs = append(pa, graph.StringAttr("kind", "max"))
	}
	out := n.Outputs[0]
	shape, err := l.outShape(out)
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	store := l.fresh(out + "_nhwc")
	attrs = append(attrs, graph.FloatAttr("x_scale", x.scale), graph.IntAttr("x_zp", int64(x.zp)), graph.FloatAttr("y_scale", x.scale), graph.IntAttr("y_zp", int64(x.zp)))
	l.emit(n, "QPool", []string{xin}, []string{store}, attrs...)
	l.state(out).q = &qref{store: store, perm: qtensor.ChannelsLastPerm(len(shape)), base: shape, shape: shape, scale: x.scale, zp: x.zp, exact: true}
	return nil
}

func (l *lowerer) lowerAvgPool(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if rank := len(x.shape); rank != 3 && rank != 4 && rank != 5 {
		return notLowered("only 1-D, 2-D and 3-D average pooling runs int8")
	}
	attrs := []*graph.Attr{graph.StringAttr("kind", "gavg")}
	if n.OpType == "AveragePool" {
		pa, err := l.poolAttrs(n, x)
		if err != nil {
			return err
		}
		cip := n.AttrInt("count_include_pad", 0)
		if n.AttrInt("ceil_mode", 0) != 0 && cip != 0 {
			return notLowered("ceil_mode with count_include_pad")
		}
		attrs = append(pa, graph.StringAttr("kind", "avg"), graph.IntAttr("count_include_pad", cip))
	}
	// Only a QuantizeLinear after the pool gives it an int8 output: an average is not on
	// its input's grid, and a file that leaves it unquantized (a QAT export whose global
	// pool feeds the classifier) computes the next layer on the exact float average.
	d, err := l.outQ(n.Outputs[0], false)
	if err != nil {
		if !l.readByQuantize(n.Outputs[0]) {
			return notLowered("%v; the file leaves the average unquantized (--pool-qparams input gives it its input's scale and zero point, as PyTorch's convert does, and runs it int8)", err)
		}
		return err
	}
	shape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	store, _ := l.destStore(d, false, "_nhwc")
	attrs = append(attrs, graph.FloatAttr("x_scale", x.scale), graph.IntAttr("x_zp", int64(x.zp)), graph.FloatAttr("y_scale", d.scale), graph.IntAttr("y_zp", int64(d.zp)))
	l.emit(n, "QPool", []string{xin}, []string{store}, attrs...)
	l.bindOut(d, &qref{store: store, perm: qtensor.ChannelsLastPerm(len(shape)), base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true}, false)
	return nil
}

// ---- Softmax / LayerNormalization ------------------------------------------------------------------

func (l *lowerer) lowerSoftmax(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	rank := len(x.shape)
	def := int64(-1)
	if l.opset < 13 {
		def = 1
	}
	ax, err := graph.NormalizeAxis(n.AttrInt("axis", def), rank)
	if err != nil {
		return notLowered("%v", err)
	}
	if l.opset >= 13 && ax != rank-1 {
		return notLowered("softmax over axis %d (not the last)", ax)
	}
	d, err := l.outQ(n.Outputs[0], false)
	if err != nil {
		return err
	}
	xin, err := l.plainI8(x)
	if err != nil {
		return err
	}
	shape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	store, isOut := l.destStore(d, true, "_q")
	l.emit(n, "QSoftmax", []string{xin}, []string{store}, graph.IntAttr("axis", int64(ax)),
		graph.FloatAttr("x_scale", x.scale), graph.IntAttr("x_zp", int64(x.zp)), graph.FloatAttr("y_scale", d.scale), graph.IntAttr("y_zp", int64(d.zp)))
	l.bindOut(d, &qref{store: store, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true}, isOut)
	return nil
}

func (l *lowerer) lowerLayerNorm(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	for _, o := range n.Outputs[1:] {
		if o != "" && len(l.cons[o]) > 0 {
			return notLowered("the mean/inverse-std outputs are used")
		}
	}
	g := l.constFloat(n.Input(1))
	if g == nil {
		return notLowered("scale is not constant")
	}
	var bt *graph.Tensor
	if n.Input(2) != "" {
		if bt = l.constFloat(n.Input(2)); bt == nil {
			return notLowered("bias is not constant")
		}
	}
	params := []string{l.addInit(n.Input(1)+"_f32", g)}
	if bt != nil {
		params = append(params, l.addInit(n.Input(2)+"_f32", bt))
	}
	return l.emitRowNorm(n, "QLayerNorm", x, params, graph.IntAttr("axis", n.AttrInt("axis", -1)))
}

// emitRowNorm emits a normalisation over rows of int8 codes (QLayerNorm,
// QInstanceNorm): the input as plain int8 codes, then params, requantized to
// the output's scale; extra carries the op's own attributes.
func (l *lowerer) emitRowNorm(n *graph.Node, op string, x *qref, params []string, extra ...*graph.Attr) error {
	d, err := l.outQ(n.Outputs[0], false)
	if err != nil {
		return err
	}
	xin, err := l.plainI8(x)
	if err != nil {
		return err
	}
	shape, err := l.outShape(d.final)
	if err != nil {
		return err
	}
	store, isOut := l.destStore(d, true, "_q")
	attrs := append(extra, graph.FloatAttr("epsilon", n.AttrFloat("epsilon", 1e-5)),
		graph.FloatAttr("x_scale", x.scale), graph.IntAttr("x_zp", int64(x.zp)), graph.FloatAttr("y_scale", d.scale), graph.IntAttr("y_zp", int64(d.zp)))
	l.emit(n, op, append([]string{xin}, params...), []string{store}, attrs...)
	l.bindOut(d, &qref{store: store, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true}, isOut)
	return nil
}

// lowerInstanceNorm emits an InstanceNormalization with constant scale and B
// as QInstanceNorm: each (sample, channel) row normalised from its int8 codes
// and requantized (as QLayerNorm does a row; tenth session: audio nets,
// torch.onnx's GroupNorm, style transfer).
func (l *lowerer) lowerInstanceNorm(n *graph.Node) error {
	x := l.qIn(n.Input(0))
	if x == nil {
		return notLowered("its input is not quantized")
	}
	if len(x.shape) < 3 {
		return notLowered("input of rank %d", len(x.shape))
	}
	g, bt := l.constFloat(n.Input(1)), l.constFloat(n.Input(2))
	if g == nil || bt == nil {
		return notLowered("scale or B is not constant")
	}
	return l.emitRowNorm(n, "QInstanceNorm", x, []string{l.addInit(n.Input(1)+"_f32", g), l.addInit(n.Input(2)+"_f32", bt)})
}
