package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// col2imOp is Col2Im of 2-D images (F.fold: sliding blocks [N, C·kh·kw, L]
// summed back into [N, C, H, W], the overlap-add of patch-based and
// transformer decoders). Each column value lands on one image position (or
// outside, in the padding); the forward pass adds it there in the runtime's
// order (input row, then block position: the same sums), and its gradient is
// the image gradient at that position.
type col2imOp struct {
	node          string
	in, out       int
	image, block  noGradIn
	dil, pads, st []int64
	shape         []int   // the input shape dst was made for
	outShape      []int   // [N, C, H, W]
	dst           []int32 // per input element, its image position (-1: none)
}

func buildCol2Im(b *builder, node *graph.Node) (built, error) {
	o := &col2imOp{node: node.Label(), dil: node.AttrInts("dilations", []int64{1, 1}), pads: node.AttrInts("pads", []int64{0, 0, 0, 0}),
		st: node.AttrInts("strides", []int64{1, 1})}
	if len(o.dil) != 2 || len(o.pads) != 4 || len(o.st) != 2 {
		return built{}, fmt.Errorf("%w: Col2Im with dilations %v, pads %v, strides %v (2-D images are trained)", ErrNoGradient, o.dil, o.pads, o.st)
	}
	var err error
	if o.in, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	var ok bool
	if o.image, ok = b.noGradInput(node.Input(1)); !ok {
		return built{}, fmt.Errorf("%w: Col2Im image_shape %q is computed from float data", ErrNoGradient, node.Input(1))
	}
	if o.block, ok = b.noGradInput(node.Input(2)); !ok {
		return built{}, fmt.Errorf("%w: Col2Im block_shape %q is computed from float data", ErrNoGradient, node.Input(2))
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *col2imOp) label() string { return o.node }

func (o *col2imOp) plan(n *Net, x []int) error {
	ints := func(in noGradIn, what string) ([]int64, error) {
		t, err := in.value(n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		v, err := t.AsInt64()
		if err == nil && len(v) != 2 {
			err = fmt.Errorf("%v: want 2 values (2-D images are trained)", v)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: Col2Im %s %v", ErrNoGradient, what, err)
		}
		return v, nil
	}
	image, err := ints(o.image, "image_shape")
	if err != nil {
		return err
	}
	block, err := ints(o.block, "block_shape")
	if err != nil {
		return err
	}
	ih, iw, kh, kw := int(image[0]), int(image[1]), int(block[0]), int(block[1])
	var bl [2]int
	for i := range 2 {
		span := int(image[i]+o.pads[i]+o.pads[2+i]) - int(o.dil[i])*(int(block[i])-1) - 1
		if span < 0 || o.st[i] < 1 || kh < 1 || kw < 1 {
			return fmt.Errorf("Col2Im of block %v over image %v with pads %v does not fit", block, image, o.pads)
		}
		bl[i] = span/int(o.st[i]) + 1
	}
	L, kb := bl[0]*bl[1], kh*kw
	if len(x) != 3 || x[1]%kb != 0 || x[2] != L {
		return fmt.Errorf("Col2Im input %v for blocks %v (%d positions)", x, block, L)
	}
	if o.dst != nil && equalShape(x, o.shape) && equalShape(o.outShape, []int{x[0], x[1] / kb, ih, iw}) {
		return nil
	}
	o.shape, o.outShape = append(o.shape[:0], x...), []int{x[0], x[1] / kb, ih, iw}
	o.dst = make([]int32, numel(x))
	planes := x[0] * (x[1] / kb)
	e := 0
	for plane := range planes {
		for kk := range kb {
			ki, kj := kk/kw, kk%kw
			for bi := range bl[0] {
				y := bi*int(o.st[0]) - int(o.pads[0]) + ki*int(o.dil[0])
				for bj := range bl[1] {
					xx := bj*int(o.st[1]) - int(o.pads[1]) + kj*int(o.dil[1])
					o.dst[e] = -1
					if y >= 0 && y < ih && xx >= 0 && xx < iw {
						o.dst[e] = int32((plane*ih+y)*iw + xx)
					}
					e++
				}
			}
		}
	}
	return nil
}

func (o *col2imOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	if err := o.plan(n, x.shape); err != nil {
		return err
	}
	y.resize(o.outShape)
	clear(y.data)
	for e, d := range o.dst {
		if d >= 0 {
			y.data[d] += x.data[e]
		}
	}
	return nil
}

func (o *col2imOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	for e, d := range o.dst {
		if d >= 0 {
			x.grad[e] += y.grad[d]
		}
	}
}
