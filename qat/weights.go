package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// weightRef is the weight an operator multiplies with: a trainable parameter,
// fake-quantized per channel when Quantize stores it as int8. eff holds the values
// used by the forward pass; the gradient with respect to eff goes straight to the
// parameter (straight-through estimator: per-channel max|w| scaling never saturates).
type weightRef struct {
	p      *Param
	quant  bool
	axis   int
	scales []float32
	eff    []float32
	deff   []float32
}

func (b *builder) weight(name string) (*weightRef, error) {
	p, err := b.param(name, true)
	if err != nil {
		return nil, err
	}
	axis, q := b.wAxis[name]
	return &weightRef{p: p, quant: q, axis: axis}, nil
}

// prepare computes eff from the parameter, unless the forward pass runs another
// part of the batch whose first part computed it (Net.sameWeights: no step
// between the parts, so the same weights; microbatch.go).
func (w *weightRef) prepare(n *Net) {
	if !w.quant {
		w.eff = w.p.W
		return
	}
	if n.sameWeights && len(w.eff) == len(w.p.W) {
		return
	}
	threads := n.threads
	w.scales = weightScales(w.p.W, w.p.Shape, w.axis, w.scales, threads)
	w.eff = grow(w.eff, len(w.p.W))
	fakeQuantWeights(w.p.W, w.p.Shape, w.axis, w.scales, w.eff, threads)
}

// grad returns a zeroed buffer for d(loss)/d(eff).
func (w *weightRef) grad() []float32 {
	w.deff = grow(w.deff, len(w.p.W))
	clear(w.deff)
	return w.deff
}

// flush adds d(eff) to the parameter's gradient.
func (w *weightRef) flush() {
	addTo(w.p.G, w.deff)
}

// biasRef is a bias: a trainable parameter, rounded to the int32 grid of scale
// s_in*s_w[c] when Quantize stores it as int32 (s_in from the fake quantization of
// the operator's input, s_w from the weight).
type biasRef struct {
	p     *Param
	quant bool
	inFQ  *fqOp
	eff   []float32
}

func (b *builder) biasOf(name string, inSlot int) (*biasRef, error) {
	if name == "" {
		return nil, nil
	}
	p, err := b.param(name, false)
	if err != nil {
		return nil, err
	}
	r := &biasRef{p: p}
	if b.bias[name] {
		if f := b.fqOf[inSlot]; f != nil {
			r.quant, r.inFQ = true, f
		}
	}
	return r, nil
}

func (r *biasRef) prepare(w *weightRef) []float32 {
	if r == nil {
		return nil
	}
	if !r.quant || !w.quant {
		return r.p.W
	}
	r.eff = grow(r.eff, len(r.p.W))
	fakeQuantBias(r.p.W, r.inFQ.p.Scale, w.scales, r.eff)
	return r.eff
}

// convOperands reads a Conv's or ConvTranspose's input slot, weight and
// optional bias (inputs 0, 1 and 2).
func (b *builder) convOperands(node *graph.Node) (in int, w *weightRef, bias *biasRef, err error) {
	if in, err = b.input(node, node.Input(0)); err != nil {
		return 0, nil, nil, err
	}
	if w, err = b.weight(node.Input(1)); err != nil {
		return 0, nil, nil, fmt.Errorf("weight: %w", err)
	}
	if bias, err = b.biasOf(node.Input(2), in); err != nil {
		return 0, nil, nil, fmt.Errorf("bias: %w", err)
	}
	return in, w, bias, nil
}
