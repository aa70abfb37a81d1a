package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// gridSampleOp is GridSample on [N, C, H, W] (a spatial transformer's sampling,
// RAFT's and PWC-Net's warping, deformable attention's sampling of values): Y[n,
// c, p] = Σ w·X[n, c, tap] over the taps the runtime's kernel picks for
// grid[n, p] (runtime.GridSampleTaps: the executor's arithmetic and padding).
// X's gradient is the weights times dY added back at the taps; the grid's, in
// bilinear mode, the derivative of the weights: along x, wy0·(X12 − X11) +
// wy1·(X22 − X21), times the denormalisation's scale (W/2, or (W−1)/2 with
// align_corners), zero where border padding clamped the location. Nearest mode
// has no gradient along the grid (PyTorch's grid_sampler returns zeros for it):
// a grid the network computes passes none back (noGradOperands). Bicubic: X's
// gradient the 16 taps' weights times dY, the grid's the cubic weights' slopes
// (runtime.GridTaps.DWx, DWy; PyTorch's get_cubic_coefficients_grad) times the
// taps, as bilinear's. With reflection padding the
// grid's gradient is turned back where the location was mirrored an odd number of
// times (runtime.GridTaps.SlopeX, SlopeY).
type gridSampleOp struct {
	node       string
	x, grid    int // grid -1: gridIn
	gridIn     noGradIn
	mode, pad  string
	align      bool
	out        int
	taps       []runtime.GridTaps // per n, output position
	gridValues []float32
	// taps3: a 5-D GridSample's (voxelmorph's warp of a volume), per n and
	// output position; nil for a 4-D one (gridsample_vol.go)
	taps3 []runtime.GridTaps3
}

func buildGridSample(b *builder, node *graph.Node) (built, error) {
	o := &gridSampleOp{node: node.Label(), mode: node.AttrString("mode", "bilinear"), pad: node.AttrString("padding_mode", "zeros"),
		align: node.AttrInt("align_corners", 0) != 0, grid: -1}
	switch o.mode {
	case "linear":
		o.mode = "bilinear"
	case "cubic":
		o.mode = "bicubic"
	}
	if o.mode != "bilinear" && o.mode != "nearest" && o.mode != "bicubic" {
		return built{}, fmt.Errorf("%w: GridSample mode %q (bilinear, nearest and bicubic are trained)", ErrNoGradient, o.mode)
	}
	if o.pad != "zeros" && o.pad != "border" && o.pad != "reflection" {
		return built{}, fmt.Errorf("%w: GridSample padding_mode %q (zeros, border and reflection are trained)", ErrNoGradient, o.pad)
	}
	var err error
	if o.x, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	if in, ok := b.noGradInput(node.Input(1)); ok {
		o.gridIn = in
	} else {
		if o.grid, err = b.input(node, node.Input(1)); err != nil {
			return built{}, err
		}
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *gridSampleOp) label() string { return o.node }

func (o *gridSampleOp) gridData(n *Net) ([]float32, []int, error) {
	if o.grid >= 0 {
		g := n.vals[o.grid]
		return g.data, g.shape, nil
	}
	t, err := o.gridIn.value(n)
	if err != nil {
		return nil, nil, fmt.Errorf("grid: %w", err)
	}
	if t.DType != graph.Float32 {
		return nil, nil, fmt.Errorf("grid is %s, not float32", t.DType)
	}
	return t.F32(), t.Shape, nil
}

func (o *gridSampleOp) forward(n *Net) error {
	x, y := n.vals[o.x], n.vals[o.out]
	gd, gs, err := o.gridData(n)
	if err != nil {
		return err
	}
	o.taps3 = o.taps3[:0]
	if len(x.shape) == 5 && len(gs) == 5 && gs[4] == 3 && gs[0] == x.shape[0] {
		return o.forwardVolume(x, y, gd, gs)
	}
	if len(x.shape) != 4 || len(gs) != 4 || gs[3] != 2 || gs[0] != x.shape[0] {
		return fmt.Errorf("%w: GridSample of X %v by grid %v (4-D X with grid [N, H_out, W_out, 2], 5-D X with grid [N, D_out, H_out, W_out, 3] are trained)", ErrNoGradient, x.shape, gs)
	}
	N, C, H, W := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	if H == 0 || W == 0 {
		// the kernel's taps clamp to a pixel that does not exist
		return fmt.Errorf("%w: GridSample of an empty plane %v", ErrNoGradient, x.shape)
	}
	P := gs[1] * gs[2]
	y.resize([]int{N, C, gs[1], gs[2]})
	if cap(o.taps) < N*P {
		o.taps = make([]runtime.GridTaps, N*P)
	}
	o.taps = o.taps[:N*P]
	for b := range N {
		for p := range P {
			t := runtime.GridSampleTaps(o.mode, o.pad, o.align, gd[(b*P+p)*2], gd[(b*P+p)*2+1], H, W)
			o.taps[b*P+p] = t
			for c := range C {
				y.data[(b*C+c)*P+p] = applyTaps(&t, x.data[(b*C+c)*H*W:(b*C+c+1)*H*W])
			}
		}
	}
	return nil
}

// applyTaps is the kernel's sum, in its order.
func applyTaps(t *runtime.GridTaps, plane []float32) float32 {
	px := func(i int) float32 {
		if j := t.Idx[i]; j >= 0 {
			return plane[j]
		}
		return 0
	}
	switch t.Size {
	case 1:
		return px(0)
	case 4:
		var v [4]float32
		for r := range 4 {
			v[r] = t.Wx[0]*px(4*r) + t.Wx[1]*px(4*r+1) + t.Wx[2]*px(4*r+2) + t.Wx[3]*px(4*r+3)
		}
		return t.Wy[0]*v[0] + t.Wy[1]*v[1] + t.Wy[2]*v[2] + t.Wy[3]*v[3]
	}
	top := t.Wx[0]*px(0) + t.Wx[1]*px(1)
	bot := t.Wx[0]*px(2) + t.Wx[1]*px(3)
	return t.Wy[0]*top + t.Wy[1]*bot
}

func (o *gridSampleOp) backward(n *Net) {
	x, y := n.vals[o.x], n.vals[o.out]
	if len(o.taps3) > 0 {
		o.backwardVolume(n, x, y)
		return
	}
	N, C, H, W := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	P := len(o.taps) / max(N, 1)
	var dg []float32
	if o.grid >= 0 {
		dg = n.vals[o.grid].grad
	}
	sx, sy := float32(W)/2, float32(H)/2
	if o.align {
		sx, sy = float32(W-1)/2, float32(H-1)/2
	}
	for b := range N {
		for p := range P {
			t := &o.taps[b*P+p]
			var gx, gy float32
			for c := range C {
				g := y.grad[(b*C+c)*P+p]
				if g == 0 {
					continue
				}
				plane := x.data[(b*C+c)*H*W : (b*C+c+1)*H*W]
				var dplane []float32
				if x.grad != nil {
					dplane = x.grad[(b*C+c)*H*W : (b*C+c+1)*H*W]
				}
				if t.Size == 1 {
					if j := t.Idx[0]; j >= 0 && dplane != nil {
						dplane[j] += g
					}
					continue
				}
				if t.Size == 4 { // bicubic: 16 taps, the cubic weights' slopes along the grid
					for k, j := range t.Idx {
						if j < 0 {
							continue
						}
						r, c := k/4, k%4
						if dplane != nil {
							dplane[j] += g * t.Wy[r] * t.Wx[c]
						}
						gx += g * plane[j] * t.Wy[r] * t.DWx[c]
						gy += g * plane[j] * t.DWy[r] * t.Wx[c]
					}
					continue
				}
				w := [4]float32{t.Wy[0] * t.Wx[0], t.Wy[0] * t.Wx[1], t.Wy[1] * t.Wx[0], t.Wy[1] * t.Wx[1]}
				var v [4]float32
				for k := range 4 {
					if j := t.Idx[k]; j >= 0 {
						v[k] = plane[j]
						if dplane != nil {
							dplane[j] += g * w[k]
						}
					}
				}
				gx += g * (t.Wy[0]*(v[1]-v[0]) + t.Wy[1]*(v[3]-v[2]))
				gy += g * ((t.Wx[0]*v[2] + t.Wx[1]*v[3]) - (t.Wx[0]*v[0] + t.Wx[1]*v[1]))
			}
			if dg == nil || t.Size == 1 {
				continue
			}
			if !t.ClampX {
				dg[(b*P+p)*2] += gx * sx * t.SlopeX
			}
			if !t.ClampY {
				dg[(b*P+p)*2+1] += gy * sy * t.SlopeY
			}
		}
	}
}
