package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// gatherElementsOp is GatherElements (torch.gather: a sequence reversed by
// lengths, top-k values picked by their indices): y[..., i, ...] = x[..., idx[..., i,
// ...], ...] along one axis, the indices computed (from integer inputs, shapes or a
// comparison) or constant. Each output element's gradient is added to the element
// it was taken from.
type gatherElementsOp struct {
	node    string
	in, out int
	idx     noGradIn
	axis    int
	src     []int32 // per output element, the input element of the last forward
}

func buildGatherElements(b *builder, node *graph.Node) (built, error) {
	in, err := b.input(node, node.Input(0))
	if err != nil {
		return built{}, err
	}
	o := &gatherElementsOp{node: node.Label(), in: in, axis: int(node.AttrInt("axis", 0))}
	var ok bool
	if o.idx, ok = b.noGradInput(node.Input(1)); !ok {
		return built{}, fmt.Errorf("%w: GatherElements indices %q are computed from float data", ErrNoGradient, node.Input(1))
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *gatherElementsOp) label() string { return o.node }

func (o *gatherElementsOp) forward(n *Net) error {
	t, err := o.idx.value(n)
	if err != nil {
		return fmt.Errorf("indices: %w", err)
	}
	idx, err := t.AsInt64()
	if err != nil {
		return fmt.Errorf("indices: %w", err)
	}
	x, y := n.vals[o.in], n.vals[o.out]
	r := len(x.shape)
	ax := o.axis
	if ax < 0 {
		ax += r
	}
	if ax < 0 || ax >= r || len(t.Shape) != r {
		return fmt.Errorf("axis %d, data %v and indices %v", o.axis, x.shape, t.Shape)
	}
	for d := range r {
		if d != ax && t.Shape[d] > x.shape[d] {
			return fmt.Errorf("indices %v larger than the data %v outside axis %d", t.Shape, x.shape, ax)
		}
	}
	y.resize(t.Shape)
	if cap(o.src) < len(idx) {
		o.src = make([]int32, len(idx))
	}
	o.src = o.src[:len(idx)]
	// strides of the data; the output is walked in index order
	xs := make([]int, r)
	s := 1
	for d := r - 1; d >= 0; d-- {
		xs[d] = s
		s *= x.shape[d]
	}
	pos := make([]int, r)
	for e, v := range idx {
		k := int(v)
		if k < 0 {
			k += x.shape[ax]
		}
		if k < 0 || k >= x.shape[ax] {
			return fmt.Errorf("index %d outside the %d elements of axis %d", v, x.shape[ax], ax)
		}
		off := 0
		for d := range r {
			c := pos[d]
			if d == ax {
				c = k
			}
			off += c * xs[d]
		}
		o.src[e] = int32(off)
		y.data[e] = x.data[off]
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			if pos[d] < t.Shape[d] {
				break
			}
			pos[d] = 0
		}
	}
	return nil
}

func (o *gatherElementsOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	if x.grad == nil {
		return
	}
	for e, s := range o.src {
		x.grad[s] += y.grad[e]
	}
}
