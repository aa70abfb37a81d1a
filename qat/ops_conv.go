package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// convOp is Conv (regular, grouped or depthwise) with a fake-quantized weight.
type convOp struct {
	node    string
	in, out int
	w       *weightRef
	b       *biasRef
	core    convCore
	dbias   []float32
	// writeGrad: the only reader of in, so backward writes in's gradient
	// (not cleared by Backward) instead of adding to it (markWrittenGrads).
	writeGrad bool
	// ste: the fake quantization that computes in and whose output only this
	// op reads; its straight-through gradient may go in this op's store
	// (fuseSTEIntoConv). steAcc: in has other readers, all after this op in
	// program order; the store masks their accumulated gradient plus this
	// op's.
	ste    *fqOp
	steAcc bool
	// rangeOf: the fake quantization (owner of an EMA range) that reads this op's
	// output, alone or through its fused Relu; the forward store computes the
	// output's min/max for it when it follows the batch (fuseMinMaxIntoConv).
	rangeOf *fqOp
	// fqIn: the fake quantization that computes in, read by nothing else,
	// applied as the shifted paths lay the input out (fuseFakeQuantIntoConv);
	// src is what the last forward pass read (fqIn's input when it did).
	fqIn *fqOp
	src  []float32
}

func convGeomOf(node *graph.Node, w []int) (convGeom, error) {
	var g convGeom
	if len(w) != 4 && len(w) != 3 {
		return g, fmt.Errorf("weight shape %v: only 1-D, 2-D and (without a BatchNormalization to fuse) 3-D convolutions are supported", w)
	}
	ap, err := graph.NodeAutoPad(node)
	if err != nil {
		return g, err
	}
	g.autoPad = ap
	g.group = int(node.AttrInt("group", 1))
	st := node.AttrInts("strides", []int64{1, 1})
	dl := node.AttrInts("dilations", []int64{1, 1})
	pd := node.AttrInts("pads", []int64{0, 0, 0, 0})
	if len(w) == 3 {
		// A 1-D convolution is the 2-D one of height 1: kernel, stride, dilation 1
		// and no padding along the height.
		g.oned = true
		w = []int{w[0], w[1], 1, w[2]}
		st = append([]int64{1}, node.AttrInts("strides", []int64{1})...)
		dl = append([]int64{1}, node.AttrInts("dilations", []int64{1})...)
		pd = node.AttrInts("pads", []int64{0, 0})
		if len(pd) == 2 {
			pd = []int64{0, pd[0], 0, pd[1]}
		}
	}
	g.oc, g.kh, g.kw = w[0], w[2], w[3]
	g.c = w[1] * g.group
	if ap != graph.AutoPadNotSet {
		pd = []int64{0, 0, 0, 0} // VALID; SAME's pads are set per input size
	}
	if len(st) != 2 || len(dl) != 2 || len(pd) != 4 {
		return g, fmt.Errorf("strides %v, dilations %v, pads %v: want 2, 2 and 4 values", st, dl, pd)
	}
	g.sh, g.sw, g.dh, g.dw = int(st[0]), int(st[1]), int(dl[0]), int(dl[1])
	g.pt, g.pl, g.pb, g.pr = int(pd[0]), int(pd[1]), int(pd[2]), int(pd[3])
	if g.group <= 0 || g.oc%g.group != 0 {
		return g, fmt.Errorf("group %d does not divide %d output channels", g.group, g.oc)
	}
	return g, nil
}

func buildConv(b *builder, node *graph.Node) (built, error) {
	if _, computed := b.cur[node.Input(1)]; computed && b.g.Initializers[node.Input(1)] == nil {
		return buildConvDyn(b, node)
	}
	in, w, bias, err := b.convOperands(node)
	if err != nil {
		return built{}, err
	}
	if len(w.p.Shape) == 5 {
		return buildConv3d(b, node, in, w, bias)
	}
	g, err := convGeomOf(node, w.p.Shape)
	if err != nil {
		return built{}, err
	}
	o := &convOp{node: node.Label(), in: in, out: b.slot(), w: w, b: bias}
	o.core.g = g
	return built{o, o.out}, nil
}

func (o *convOp) label() string { return o.node }

func (o *convOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	if err := o.core.g.setInput(x.shape); err != nil {
		return err
	}
	g := &o.core.g
	y.resize(g.outShape())
	o.w.prepare(n)
	o.core.wantMinMax = o.rangeOf != nil && o.rangeOf.followsBatch(n)
	o.src, o.core.xq = x.data, nil
	if f := o.fqIn; f != nil {
		if o.core.shiftedForward() {
			o.src, o.core.xq = f.fillQuant(n)
		} else {
			f.quantize(n) // the other paths read the input as it lies
		}
	}
	o.core.forward(o.src, o.w.eff, o.b.prepare(o.w), y.data, n.threads)
	return nil
}

func (o *convOp) batchMinMax(s int) (lo, hi float32, ok bool) {
	if s != o.out || !o.core.hasMinMax {
		return 0, 0, false
	}
	return o.core.minLo, o.core.maxHi, true
}

func (o *convOp) dropRange() { o.rangeOf = nil }

func (o *convOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	var db []float32
	if o.b != nil {
		o.dbias = grow(o.dbias, len(o.b.p.W))
		clear(o.dbias)
		db = o.dbias
	}
	var ste *steStore
	if o.ste != nil && x.grad != nil {
		if ste = o.ste.fusedSTE(n); ste != nil && o.steAcc {
			ste.acc = x.grad
		}
	}
	if o.core.backward(o.src, o.w.eff, y.grad, x.grad, o.w.grad(), db, o.writeGrad, ste, n.threads) {
		o.ste.steDone = true
	}
	o.w.flush()
	if o.b != nil {
		for i, v := range db {
			o.b.p.G[i] += v // rounding the bias to int32 is a straight-through step
		}
	}
}
