package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// affineGridOp is AffineGrid in its 2-D form (opset 20; a spatial transformer's
// sampling grid from the localisation net's theta [N, 2, 3], read by
// GridSample): grid[n, h, w] = theta[n] · (x_w, y_h, 1) with the runtime's base
// coordinates and float32 products in its order. The grid is linear in theta, so
// theta's gradient is Σ over h, w of dgrid[n, h, w, i] · (x_w, y_h, 1)[j].
type affineGridOp struct {
	node   string
	theta  int
	size   noGradIn
	align  bool
	out    int
	xs, ys []float32 // base coordinates of the last forward pass
}

func buildAffineGrid(b *builder, node *graph.Node) (built, error) {
	o := &affineGridOp{node: node.Label(), align: node.AttrInt("align_corners", 0) != 0}
	size, ok := b.noGradInput(node.Input(1))
	if !ok {
		return built{}, fmt.Errorf("%w: AffineGrid size %q is neither computed nor a constant", ErrNoGradient, node.Input(1))
	}
	o.size = size
	var err error
	if o.theta, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *affineGridOp) label() string { return o.node }

// base is the runtime's normalised coordinate of pixel i of m.
func (o *affineGridOp) base(i, m int) float32 {
	if o.align {
		if m == 1 {
			return 0
		}
		return float32(-1 + 2*float64(i)/float64(m-1))
	}
	return float32((2*float64(i)+1)/float64(m) - 1)
}

func (o *affineGridOp) forward(n *Net) error {
	th, y := n.vals[o.theta], n.vals[o.out]
	st, err := o.size.value(n)
	if err != nil {
		return fmt.Errorf("size: %w", err)
	}
	size, err := st.AsInt64()
	if err != nil {
		return fmt.Errorf("size: %w", err)
	}
	if len(th.shape) != 3 || th.shape[1] != 2 || th.shape[2] != 3 || len(size) != 4 {
		return fmt.Errorf("%w: AffineGrid of theta %v to size %v (the 2-D form, theta [N, 2, 3], is trained)", ErrNoGradient, th.shape, size)
	}
	N, H, W := int(size[0]), int(size[2]), int(size[3])
	if N != th.shape[0] || H < 1 || W < 1 {
		return fmt.Errorf("AffineGrid size %v does not fit theta %v", size, th.shape)
	}
	y.resize([]int{N, H, W, 2})
	o.xs, o.ys = grow(o.xs, W), grow(o.ys, H)
	for i := range W {
		o.xs[i] = o.base(i, W)
	}
	for i := range H {
		o.ys[i] = o.base(i, H)
	}
	for b := range N {
		t := th.data[b*6 : b*6+6]
		for h, yy := range o.ys {
			for w, xx := range o.xs {
				p := ((b*H+h)*W + w) * 2
				y.data[p] = t[0]*xx + t[1]*yy + t[2]
				y.data[p+1] = t[3]*xx + t[4]*yy + t[5]
			}
		}
	}
	return nil
}

func (o *affineGridOp) backward(n *Net) {
	th, y := n.vals[o.theta], n.vals[o.out]
	if th.grad == nil {
		return
	}
	N, H, W := y.shape[0], y.shape[1], y.shape[2]
	for b := range N {
		var d [6]float64
		for h, yy := range o.ys {
			for w, xx := range o.xs {
				p := ((b*H+h)*W + w) * 2
				g0, g1 := float64(y.grad[p]), float64(y.grad[p+1])
				x, yv := float64(xx), float64(yy)
				d[0] += g0 * x
				d[1] += g0 * yv
				d[2] += g0
				d[3] += g1 * x
				d[4] += g1 * yv
				d[5] += g1
			}
		}
		for i, v := range d {
			th.grad[b*6+i] += float32(v)
		}
	}
}
