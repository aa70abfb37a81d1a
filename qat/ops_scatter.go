package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// scatterOp is ScatterElements or ScatterND (reduction none, add, max or min): y
// is data with the updates written (added, or kept where larger or smaller) at
// the places the indices give (a PointPillars BEV grid, a graph network's
// per-node maximum, tokens written into a sequence). The indices are computed or
// constant and carry no gradient. With reduction none an overwritten place passes
// no gradient to data, and of several updates written to one place the last, the
// one y holds, takes its gradient; with add every update and data take the
// place's gradient; with max and min the value y holds takes it (data's, or the
// first update of equal ones).
type scatterOp struct {
	node      string
	nd, add   bool
	pick      int     // +1 max, -1 min, 0 none or add
	src       []int32 // max, min: per element of y, the update it holds (-1: data's)
	data, upd int
	out       int
	idx       noGradIn
	axis      int
	dest      []int32 // per update element, its place in y
	last      []bool  // per update element, whether y holds it (reduction none)
	written   []bool  // per element of y, whether an update overwrote it
}

func buildScatter(b *builder, node *graph.Node) (built, error) {
	o := &scatterOp{node: node.Label(), nd: node.OpType == "ScatterND", axis: int(node.AttrInt("axis", 0))}
	switch r := node.AttrString("reduction", "none"); r {
	case "none":
	case "add":
		o.add = true
	case "max":
		o.pick = 1
	case "min":
		o.pick = -1
	default:
		return built{}, fmt.Errorf("%w: %s reduction %q", ErrNoGradient, node.OpType, r)
	}
	var ok bool
	if o.idx, ok = b.noGradInput(node.Input(1)); !ok {
		return built{}, fmt.Errorf("%w: %s indices %q are computed from float data", ErrNoGradient, node.OpType, node.Input(1))
	}
	var err error
	if o.data, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	if o.upd, err = b.input(node, node.Input(2)); err != nil {
		return built{}, err
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *scatterOp) label() string { return o.node }

// places computes, for every update element, its flat place in data.
func (o *scatterOp) places(dshape, ishape []int, idx []int64, nUpd int) error {
	r := len(dshape)
	ds := make([]int, r)
	s := 1
	for d := r - 1; d >= 0; d-- {
		ds[d] = s
		s *= dshape[d]
	}
	o.dest = o.dest[:0]
	if o.nd {
		k := ishape[len(ishape)-1]
		if k < 1 || k > r {
			return fmt.Errorf("ScatterND index tuples of %d for data of rank %d", k, r)
		}
		slice := numel(dshape[k:])
		if len(idx)/k*slice != nUpd {
			return fmt.Errorf("ScatterND: %d updates for %d index tuples of slices of %d", nUpd, len(idx)/k, slice)
		}
		for t := 0; t < len(idx)/k; t++ {
			off := 0
			for d := range k {
				v := int(idx[t*k+d])
				if v < 0 {
					v += dshape[d]
				}
				if v < 0 || v >= dshape[d] {
					return fmt.Errorf("index %d outside the %d of axis %d", idx[t*k+d], dshape[d], d)
				}
				off += v * ds[d]
			}
			for j := range slice {
				o.dest = append(o.dest, int32(off+j))
			}
		}
		return nil
	}
	ax := o.axis
	if ax < 0 {
		ax += r
	}
	if ax < 0 || ax >= r || len(ishape) != r || len(idx) != nUpd {
		return fmt.Errorf("ScatterElements: axis %d, data %v, indices %v, %d updates", o.axis, dshape, ishape, nUpd)
	}
	pos := make([]int, r)
	for _, v := range idx {
		k := int(v)
		if k < 0 {
			k += dshape[ax]
		}
		if k < 0 || k >= dshape[ax] {
			return fmt.Errorf("index %d outside the %d of axis %d", v, dshape[ax], ax)
		}
		off := 0
		for d := range r {
			c := pos[d]
			if d == ax {
				c = k
			}
			if c >= dshape[d] {
				return fmt.Errorf("indices %v larger than the data %v", ishape, dshape)
			}
			off += c * ds[d]
		}
		o.dest = append(o.dest, int32(off))
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			if pos[d] < ishape[d] {
				break
			}
			pos[d] = 0
		}
	}
	return nil
}

func (o *scatterOp) forward(n *Net) error {
	t, idx, err := o.idx.indices(n)
	if err != nil {
		return err
	}
	x, u, y := n.vals[o.data], n.vals[o.upd], n.vals[o.out]
	if err := o.places(x.shape, t.Shape, idx, len(u.data)); err != nil {
		return err
	}
	y.resize(x.shape)
	copy(y.data, x.data)
	if o.pick != 0 {
		o.src = o.src[:0]
		for range y.data {
			o.src = append(o.src, -1)
		}
		for e, p := range o.dest {
			if v := u.data[e]; (o.pick > 0 && v > y.data[p]) || (o.pick < 0 && v < y.data[p]) {
				y.data[p], o.src[p] = v, int32(e)
			}
		}
		return nil
	}
	o.written = grow8(o.written, len(y.data))
	clear(o.written)
	o.last = grow8(o.last, len(o.dest))
	for e := len(o.dest) - 1; e >= 0; e-- {
		// walking back, the first update met at a place is the last written
		p := o.dest[e]
		o.last[e] = !o.written[p]
		o.written[p] = true
	}
	for e, p := range o.dest {
		if o.add {
			y.data[p] += u.data[e]
		} else {
			y.data[p] = u.data[e]
		}
	}
	return nil
}

func (o *scatterOp) backward(n *Net) {
	x, u, y := n.vals[o.data], n.vals[o.upd], n.vals[o.out]
	if o.pick != 0 {
		for i, g := range y.grad {
			switch e := o.src[i]; {
			case e < 0 && x.grad != nil:
				x.grad[i] += g
			case e >= 0 && u.grad != nil:
				u.grad[e] += g
			}
		}
		return
	}
	if x.grad != nil {
		for i, g := range y.grad {
			if o.add || !o.written[i] {
				x.grad[i] += g
			}
		}
	}
	if u.grad != nil {
		for e, p := range o.dest {
			if o.add || o.last[e] {
				u.grad[e] += y.grad[p]
			}
		}
	}
}
