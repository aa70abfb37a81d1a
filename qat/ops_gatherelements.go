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
	t, idx, err := o.idx.indices(n)
	if err != nil {
		return err
	}
	x, y := n.vals[o.in], n.vals[o.out]
	if o.src, err = elementSources(x.shape, t.Shape, idx, o.axis, o.src); err != nil {
		return err
	}
	y.resize(t.Shape)
	for e, p := range o.src {
		y.data[e] = x.data[p]
	}
	return nil
}

// elementSources returns, for each element of an index tensor of shape ishape
// along axis (GatherElements' indices, TopK's), the flat position in a tensor of
// shape xshape of the element it picks: the same coordinates, the index's along
// the axis. dst is reused when large enough.
func elementSources(xshape, ishape []int, idx []int64, axis int, dst []int32) ([]int32, error) {
	r := len(xshape)
	ax := axis
	if ax < 0 {
		ax += r
	}
	if ax < 0 || ax >= r || len(ishape) != r {
		return nil, fmt.Errorf("axis %d, data %v and indices %v", axis, xshape, ishape)
	}
	for d := range r {
		if d != ax && ishape[d] > xshape[d] {
			return nil, fmt.Errorf("indices %v larger than the data %v outside axis %d", ishape, xshape, ax)
		}
	}
	if cap(dst) < len(idx) {
		dst = make([]int32, len(idx))
	}
	dst = dst[:len(idx)]
	// strides of the data; the indices are walked in order
	xs := make([]int, r)
	s := 1
	for d := r - 1; d >= 0; d-- {
		xs[d] = s
		s *= xshape[d]
	}
	pos := make([]int, r)
	for e, v := range idx {
		k := int(v)
		if k < 0 {
			k += xshape[ax]
		}
		if k < 0 || k >= xshape[ax] {
			return nil, fmt.Errorf("index %d outside the %d elements of axis %d", v, xshape[ax], ax)
		}
		off := 0
		for d := range r {
			c := pos[d]
			if d == ax {
				c = k
			}
			off += c * xs[d]
		}
		dst[e] = int32(off)
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			if pos[d] < ishape[d] {
				break
			}
			pos[d] = 0
		}
	}
	return dst, nil
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
