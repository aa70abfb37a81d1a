package lower

import (
	"math"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// ---- QOperator operators ------------------------------------------------------------------------------

// qopInput returns the int8 representation of a QOperator input with its own
// (constant) parameters.
func (l *lowerer) qopInput(x, scale, zp string) (*qref, error) {
	dt := l.dtype(x)
	s, z, _, ok := l.qparams(scale, zp, dt)
	if !ok {
		return nil, notLowered("input %q has no constant per-tensor parameters", x)
	}
	r := l.refOf(x)
	if r == nil {
		return nil, notLowered("input %q is not an int8/uint8 tensor with a known shape", x)
	}
	nr := r.with(s, z)
	nr.exact = true
	return nr, nil
}

// qopDest makes a qdest for a QOperator output with its (constant) parameters.
func (l *lowerer) qopDest(out, scale, zp string) (*qdest, error) {
	s, z, dt, ok := l.qparams(scale, zp, l.dtype(out))
	if !ok {
		return nil, notLowered("output %q has no constant per-tensor parameters", out)
	}
	return &qdest{final: out, scale: s, zp: z, srcDType: dt, qmin: -128, qmax: 127}, nil
}

// bindQOp records a QOperator output.
func (l *lowerer) bindQOp(out string, r *qref) { l.state(out).q = r }

func (l *lowerer) lowerQLinearConv(n *graph.Node) error {
	x, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	rank := len(x.shape)
	if rank != 3 && rank != 4 {
		return notLowered("only 1-D and 2-D convolutions run int8 (input rank %d)", rank)
	}
	w, err := l.weightsFrom(l.constOf(n.Input(3)), n.Input(4), n.Input(5), 0)
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(6), n.Input(7))
	if err != nil {
		return err
	}
	oc := w.shape[0]
	wsc, wzp, err := w.perChannel(0, oc)
	if err != nil {
		return err
	}
	k := rank - 2
	strides, dil := intsOr(n, "strides", k, 1), intsOr(n, "dilations", k, 1)
	pads, err := explicitPads(n, x.shape[2:], w.shape[2:], strides, dil)
	if err != nil {
		return err
	}
	scales := make([]float32, oc)
	for c := range scales {
		scales[c] = kernels.RequantScaleF32(x.scale, wsc[c], d.scale)
	}
	var bias []int32
	if b := n.Input(8); b != "" {
		bt := l.constOf(b)
		if bt == nil || bt.I32() == nil || bt.Len() != oc {
			return notLowered("bias is not a constant int32 vector")
		}
		bias = bt.I32()
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	ins := []string{xin, l.addInit(n.Input(3)+"_int8", &graph.Tensor{DType: graph.Int8, Shape: w.shape, Data: w.data})}
	if bias != nil {
		ins = append(ins, l.addInit(n.Input(8)+"_int32", graph.FromInt32([]int{oc}, bias)))
	}
	store := l.fresh(n.Outputs[0] + "_nhwc")
	l.emit(n, "QConv", ins, []string{store},
		graph.IntsAttr("strides", strides), graph.IntsAttr("dilations", dil), graph.IntsAttr("pads", pads), graph.IntAttr("group", n.AttrInt("group", 1)),
		graph.IntAttr("x_zp", int64(x.zp)), graph.IntsAttr("w_zp", int32sToInts(compactZP(wzp))), graph.FloatsAttr("scales", scales),
		graph.IntAttr("y_zp", int64(d.zp)), graph.IntAttr("qmin", -128), graph.IntAttr("qmax", 127), graph.StringAttr("requant", l.requantMode))
	l.bindQOp(n.Outputs[0], &qref{store: store, perm: qtensor.ChannelsLastPerm(rank), base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) lowerQLinearMatMul(n *graph.Node) error {
	a, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(6), n.Input(7))
	if err != nil {
		return err
	}
	if bt := l.constOf(n.Input(3)); bt != nil && len(bt.Shape) == 2 && len(a.shape) >= 2 {
		w, err := l.weightsFrom(bt, n.Input(4), n.Input(5), 1)
		if err != nil {
			return err
		}
		k, nOut := w.shape[0], w.shape[1]
		wsc, wzp, err := w.perChannel(1, nOut)
		if err != nil {
			return err
		}
		return l.emitQOpGemm(n, a, nOut, k, w, wsc, wzp, d)
	}
	b, err := l.qopInput(n.Input(3), n.Input(4), n.Input(5))
	if err != nil {
		return err
	}
	as, err := l.plainI8(a)
	if err != nil {
		return err
	}
	bs, err := l.plainI8(b)
	if err != nil {
		return err
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	store := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, "QMatMul", []string{as, bs}, []string{store},
		graph.FloatAttr("a_scale", a.scale), graph.IntAttr("a_zp", int64(a.zp)), graph.FloatAttr("b_scale", b.scale), graph.IntAttr("b_zp", int64(b.zp)),
		graph.FloatAttr("y_scale", d.scale), graph.IntAttr("y_zp", int64(d.zp)), graph.StringAttr("requant", l.requantMode))
	l.bindQOp(n.Outputs[0], &qref{store: store, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) emitQOpGemm(n *graph.Node, a *qref, nOut, k int, w *qweights, wsc []float32, wzp []int32, d *qdest) error {
	scales := make([]float32, nOut)
	for c := range scales {
		scales[c] = kernels.RequantScaleF32(a.scale, wsc[c], d.scale)
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	in, axis, colPerm, err := l.gemmInput(a)
	if err != nil {
		return err
	}
	wd := packWeightRows(nOut, k, colPerm, func(c, kk int) int8 { return w.data[kk*nOut+c] })
	store := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, "QGemm", []string{in, l.addInit(n.Input(3)+"_int8", graph.FromInt8([]int{nOut, k}, wd))}, []string{store},
		graph.IntAttr("axis", int64(axis)), graph.IntAttr("a_zp", int64(a.zp)), graph.IntsAttr("w_zp", int32sToInts(compactZP(wzp))), graph.FloatsAttr("scales", scales),
		graph.IntAttr("y_zp", int64(d.zp)), graph.IntAttr("qmin", -128), graph.IntAttr("qmax", 127), graph.StringAttr("requant", l.requantMode))
	l.bindQOp(n.Outputs[0], &qref{store: store, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) lowerQLinearBinary(n *graph.Node) error {
	a, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	b, err := l.qopInput(n.Input(3), n.Input(4), n.Input(5))
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(6), n.Input(7))
	if err != nil {
		return err
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	op := strings.TrimPrefix(n.OpType, "QLinear")
	var an, bn string
	var perm []int
	if sameLayout(a, b) && len(a.shape) == len(shape) {
		an, bn, perm = a.store, b.store, a.perm
	} else {
		if an, err = l.plainI8(a); err != nil {
			return err
		}
		if bn, err = l.plainI8(b); err != nil {
			return err
		}
	}
	store := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, "QBinary", []string{an, bn}, []string{store}, graph.StringAttr("op", op),
		graph.FloatAttr("a_scale", a.scale), graph.IntAttr("a_zp", int64(a.zp)), graph.FloatAttr("b_scale", b.scale), graph.IntAttr("b_zp", int64(b.zp)),
		graph.FloatAttr("y_scale", d.scale), graph.IntAttr("y_zp", int64(d.zp)))
	l.bindQOp(n.Outputs[0], &qref{store: store, perm: perm, base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) lowerQLinearGAP(n *graph.Node) error {
	if n.AttrInt("channels_last", 0) != 0 {
		return notLowered("channels_last input")
	}
	x, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(3), n.Input(4))
	if err != nil {
		return err
	}
	shape, err := l.outShape(n.Outputs[0])
	if err != nil {
		return err
	}
	xin, err := l.channelsLast(x)
	if err != nil {
		return err
	}
	store := l.fresh(n.Outputs[0] + "_nhwc")
	l.emit(n, "QPool", []string{xin}, []string{store}, graph.StringAttr("kind", "gavg"),
		graph.FloatAttr("x_scale", x.scale), graph.IntAttr("x_zp", int64(x.zp)), graph.FloatAttr("y_scale", d.scale), graph.IntAttr("y_zp", int64(d.zp)))
	l.bindQOp(n.Outputs[0], &qref{store: store, perm: qtensor.ChannelsLastPerm(len(shape)), base: shape, shape: shape, scale: d.scale, zp: d.zp, exact: true})
	return nil
}

func (l *lowerer) lowerQLinearUnary(n *graph.Node) error {
	x, err := l.qopInput(n.Input(0), n.Input(1), n.Input(2))
	if err != nil {
		return err
	}
	d, err := l.qopDest(n.Outputs[0], n.Input(3), n.Input(4))
	if err != nil {
		return err
	}
	f := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	if n.OpType == "QLinearLeakyRelu" {
		alpha := float64(n.AttrFloat("alpha", 0.01))
		f = func(v float64) float64 {
			if v < 0 {
				return alpha * v
			}
			return v
		}
	}
	tbl := make([]int8, 256)
	for q := -128; q < 128; q++ {
		v := float32(f(float64(float32(int32(q)-x.zp) * x.scale)))
		tbl[uint8(int8(q))] = int8(qtensor.QuantizeRound(v, d.scale, d.zp, -128, 127))
	}
	ti := l.addInit(n.Outputs[0]+"_lut", graph.FromInt8([]int{256}, tbl))
	store := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, "QLUT", []string{x.store, ti}, []string{store})
	nr := *x
	nr.store, nr.scale, nr.zp = store, d.scale, d.zp
	l.bindQOp(n.Outputs[0], &nr)
	return nil
}
