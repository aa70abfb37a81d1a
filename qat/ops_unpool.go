package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// maxUnpoolOp is MaxUnpool (SegNet's and ENet's decoders: each value put back
// where the encoder's MaxPool found its maximum, zeros elsewhere), the indices
// the computed output of that MaxPool (poolOp.idxName). Y's element I[j] is
// X[j] (of two values sent to one place the later, as the executor writes
// them), so X[j]'s gradient is dY[I[j]] when it was not overwritten.
type maxUnpoolOp struct {
	node        string
	in, out     int
	idx, oshape noGradIn
	hasShape    bool
	k, s        []int
	pads        []int
	winner      []int32 // per output element, the input element it holds (-1: none)
	srcIdx      []int64
}

func buildMaxUnpool(b *builder, node *graph.Node) (built, error) {
	o := &maxUnpoolOp{node: node.Label()}
	var err error
	if o.in, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	var ok bool
	if o.idx, ok = b.noGradInput(node.Input(1)); !ok {
		return built{}, fmt.Errorf("%w: MaxUnpool indices %q are neither computed nor constant", ErrNoGradient, node.Input(1))
	}
	if name := node.Input(2); name != "" {
		if o.oshape, ok = b.noGradInput(name); !ok {
			return built{}, fmt.Errorf("%w: MaxUnpool output_shape %q is neither computed nor constant", ErrNoGradient, name)
		}
		o.hasShape = true
	}
	for _, v := range node.AttrInts("kernel_shape", nil) {
		o.k = append(o.k, int(v))
	}
	for _, v := range node.AttrInts("strides", nil) {
		o.s = append(o.s, int(v))
	}
	for _, v := range node.AttrInts("pads", nil) {
		o.pads = append(o.pads, int(v))
	}
	if len(o.s) == 0 {
		o.s = make([]int, len(o.k))
		for i := range o.s {
			o.s[i] = 1
		}
	}
	if len(o.pads) == 0 {
		o.pads = make([]int, 2*len(o.k))
	}
	if len(o.k) == 0 || len(o.s) != len(o.k) || len(o.pads) != 2*len(o.k) {
		return built{}, fmt.Errorf("kernel_shape %v, strides %v, pads %v", o.k, o.s, o.pads)
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *maxUnpoolOp) label() string { return o.node }

// outShape is the output shape for input shape x: output_shape when given, else
// ONNX's (in - 1)·stride − pads + kernel along each spatial axis.
func (o *maxUnpoolOp) outShape(n *Net, x []int) ([]int, error) {
	if len(x) != 2+len(o.k) {
		return nil, fmt.Errorf("input shape %v for a %d-D kernel", x, len(o.k))
	}
	if o.hasShape {
		t, err := o.oshape.value(n)
		if err != nil {
			return nil, fmt.Errorf("output_shape: %w", err)
		}
		v, err := t.AsInt64()
		if err != nil {
			return nil, fmt.Errorf("output_shape: %w", err)
		}
		out := make([]int, len(v))
		for i, d := range v {
			out[i] = int(d)
		}
		if len(out) != len(x) || out[0] != x[0] || out[1] != x[1] {
			return nil, fmt.Errorf("output_shape %v for input %v", out, x)
		}
		return out, nil
	}
	out := []int{x[0], x[1]}
	for i, k := range o.k {
		out = append(out, (x[2+i]-1)*o.s[i]-(o.pads[i]+o.pads[len(o.k)+i])+k)
	}
	return out, nil
}

func (o *maxUnpoolOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	shape, err := o.outShape(n, x.shape)
	if err != nil {
		return err
	}
	it, err := o.idx.value(n)
	if err != nil {
		return fmt.Errorf("indices: %w", err)
	}
	if o.srcIdx, err = it.AsInt64(); err != nil {
		return fmt.Errorf("indices: %w", err)
	}
	if len(o.srcIdx) != len(x.data) {
		return fmt.Errorf("indices %v for input %v", it.Shape, x.shape)
	}
	y.resize(shape)
	clear(y.data)
	if cap(o.winner) < len(y.data) {
		o.winner = make([]int32, len(y.data))
	}
	o.winner = o.winner[:len(y.data)]
	for i := range o.winner {
		o.winner[i] = -1
	}
	for j, d := range o.srcIdx {
		if d < 0 || d >= int64(len(y.data)) {
			return fmt.Errorf("index %d of element %d is outside the output %v", d, j, shape)
		}
		y.data[d] = x.data[j]
		o.winner[d] = int32(j)
	}
	return nil
}

func (o *maxUnpoolOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	for j, d := range o.srcIdx {
		if o.winner[d] == int32(j) {
			x.grad[j] += y.grad[d]
		}
	}
}
