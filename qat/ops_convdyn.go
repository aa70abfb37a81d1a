package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// convDynOp is a 2-D Conv whose weight the network computes: a standardized
// weight (Weight Standardization of BiT's and NFNet's convolutions, (w − mean)
// / std over each filter), StyleGAN2's modulated and demodulated weight (the
// style scaling each input channel, the batch folded into the groups), a
// dynamic or conditional convolution's mixture of kernels. The weight is a value
// of the program: it is fake-quantized where Quantize puts a Q/DQ pair on it
// (per tensor, as an activation) and otherwise stays float32, as the int8
// runtime runs it, and its gradient (the convolution's weight gradient, the
// executors' kernels as for a weight) goes back to what computes it.
type convDynOp struct {
	node      string
	in, w     int
	out       int
	b         *biasRef
	core      convCore
	dw, dbias []float32
}

// noWeight stands for a weight that is not a parameter: the bias is not rounded
// to a weight grid.
var noWeight = &weightRef{}

func buildConvDyn(b *builder, node *graph.Node) (built, error) {
	name := node.Input(1)
	v := b.g.Values[name]
	if v == nil || !v.HasShape || len(v.Shape) != 4 {
		return built{}, fmt.Errorf("weight %q is computed and its shape is not a known 4-D one (1-D and 3-D convolutions take an initializer weight)", name)
	}
	shape := make([]int, 4)
	for i, d := range v.Shape {
		if !d.Known() {
			return built{}, fmt.Errorf("weight %q is computed and its shape %s is not known", name, v.Shape)
		}
		shape[i] = d.Size
	}
	o := &convDynOp{node: node.Label()}
	var err error
	if o.in, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	if o.w, err = b.input(node, name); err != nil {
		return built{}, err
	}
	if o.b, err = b.biasOf(node.Input(2), o.in); err != nil {
		return built{}, fmt.Errorf("bias: %w", err)
	}
	if o.core.g, err = convGeomOf(node, shape); err != nil {
		return built{}, err
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *convDynOp) label() string { return o.node }

func (o *convDynOp) forward(n *Net) error {
	x, w, y := n.vals[o.in], n.vals[o.w], n.vals[o.out]
	g := &o.core.g
	if len(w.data) != g.oc*g.c/g.group*g.kh*g.kw {
		return fmt.Errorf("computed weight of shape %v, the graph declares [%d %d %d %d]", w.shape, g.oc, g.c/g.group, g.kh, g.kw)
	}
	if err := g.setInput(x.shape); err != nil {
		return err
	}
	y.resize(g.outShape())
	o.core.forward(x.data, w.data, o.b.prepare(noWeight), y.data, n.threads)
	return nil
}

func (o *convDynOp) backward(n *Net) {
	x, w, y := n.vals[o.in], n.vals[o.w], n.vals[o.out]
	var db []float32
	if o.b != nil {
		o.dbias = grow(o.dbias, len(o.b.p.W))
		clear(o.dbias)
		db = o.dbias
	}
	o.dw = grow(o.dw, len(w.data))
	clear(o.dw)
	o.core.backward(x.data, w.data, y.grad, x.grad, o.dw, db, false, nil, n.threads)
	if w.grad != nil {
		addTo(w.grad, o.dw)
	}
	if o.b != nil {
		addTo(o.b.p.G, db)
	}
}
