package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// convTranspose3dOp is a 3-D ConvTranspose ([N, C_in, D, H, W], weight [C_in,
// C_out/group, kd, kh, kw]: the upsampling of 3-D U-Nets and C3D-style decoders),
// the adjoint of the 3-D convolution that maps its output back to its input with
// the same weights (vol3 holds that convolution's geometry: "input" the
// transposed convolution's output). Per image and group:
//
//	forward:         Y += col2im(W_gᵀ X_g) (+ bias)
//	input gradient:  dX_g += W_g im2col(dY)
//	weight gradient: dW_g += X_g im2col(dY)ᵀ
type convTranspose3dOp struct {
	node    string
	in, out int
	w       *weightRef
	b       *biasRef
	group   int
	cin     int // C_in, the convolution's output channels
	cout    int
	outPad  [3]int
	vol3
	col, dbias []float32
}

func buildConvTranspose3d(b *builder, node *graph.Node, in int, w *weightRef, bias *biasRef) (built, error) {
	ws := w.p.Shape
	o := &convTranspose3dOp{node: node.Label(), in: in, out: b.slot(), w: w, b: bias, group: int(node.AttrInt("group", 1)), cin: ws[0]}
	if o.group <= 0 || o.cin%o.group != 0 {
		return built{}, fmt.Errorf("group %d does not divide %d input channels", o.group, o.cin)
	}
	o.cout = ws[1] * o.group
	if node.Attrs["output_shape"] != nil {
		return built{}, fmt.Errorf("%w: a 3-D ConvTranspose with output_shape (pads and output_padding are trained)", ErrNoGradient)
	}
	var err error
	if o.vol3, err = vol3Of(node, ws[2:]); err != nil {
		return built{}, err
	}
	if o.autoPad != graph.AutoPadNotSet && o.autoPad != graph.AutoPadValid {
		return built{}, fmt.Errorf("%w: a 3-D ConvTranspose with auto_pad %s", ErrNoGradient, o.autoPad)
	}
	op := node.AttrInts("output_padding", []int64{0, 0, 0})
	if len(op) != 3 {
		return built{}, fmt.Errorf("output_padding %v: want 3 values", op)
	}
	for i, v := range op {
		if o.outPad[i] = int(v); v < 0 || o.outPad[i] >= max(o.s[i], o.d[i]) {
			return built{}, fmt.Errorf("output_padding %v for strides %v", op, o.s)
		}
	}
	return built{o, o.out}, nil
}

func (o *convTranspose3dOp) label() string { return o.node }

// geom sets the sizes for input shape x and returns the output shape.
func (o *convTranspose3dOp) geom(x []int) ([]int, error) {
	if len(x) != 5 || x[1] != o.cin {
		return nil, fmt.Errorf("input shape %v, want [N,%d,D,H,W]", x, o.cin)
	}
	var y [3]int
	for i := range 3 {
		y[i] = (x[2+i]-1)*o.s[i] - o.lo[i] - o.hi[i] + o.d[i]*(o.k[i]-1) + 1 + o.outPad[i]
		if y[i] < 1 {
			return nil, fmt.Errorf("input %v gives an empty output", x)
		}
	}
	back, err := o.setInput(y[:])
	if err != nil {
		return nil, err
	}
	if back != [3]int{x[2], x[3], x[4]} {
		return nil, fmt.Errorf("output %v does not map back to the input %v", y, x[2:])
	}
	return []int{x[0], o.cout, y[0], y[1], y[2]}, nil
}

func (o *convTranspose3dOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	shape, err := o.geom(x.shape)
	if err != nil {
		return err
	}
	y.resize(shape)
	clear(y.data)
	o.w.prepare(n)
	bias := o.b.prepare(o.w)
	N, G := x.shape[0], o.group
	mg, cg := o.cin/G, o.cout/G
	kc := cg * o.k[0] * o.k[1] * o.k[2]
	P, plane := o.od*o.oh*o.ow, o.id*o.ih*o.iw
	o.col = grow(o.col, kc*P)
	for i := range N {
		for g := range G {
			xg := x.data[(i*o.cin+g*mg)*P : (i*o.cin+(g+1)*mg)*P]
			kernels.Sgemm(true, false, kc, P, mg, o.w.eff[g*mg*kc:], kc, xg, P, o.col, P, false, n.threads)
			o.im2col(y.data[(i*o.cout+g*cg)*plane:], o.col, cg, true)
		}
		if bias != nil {
			for c := range o.cout {
				yc := y.data[(i*o.cout+c)*plane : (i*o.cout+c+1)*plane]
				for p := range yc {
					yc[p] += bias[c]
				}
			}
		}
	}
	return nil
}

func (o *convTranspose3dOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	N, G := x.shape[0], o.group
	mg, cg := o.cin/G, o.cout/G
	kc := cg * o.k[0] * o.k[1] * o.k[2]
	P, plane := o.od*o.oh*o.ow, o.id*o.ih*o.iw
	dw := o.w.grad()
	for i := range N {
		for g := range G {
			o.im2col(y.grad[(i*o.cout+g*cg)*plane:], o.col, cg, false)
			xg := x.data[(i*o.cin+g*mg)*P : (i*o.cin+(g+1)*mg)*P]
			kernels.Sgemm(false, true, mg, kc, P, xg, P, o.col, P, dw[g*mg*kc:], kc, true, n.threads)
			if x.grad != nil {
				dx := x.grad[(i*o.cin+g*mg)*P : (i*o.cin+(g+1)*mg)*P]
				kernels.Sgemm(false, false, mg, P, kc, o.w.eff[g*mg*kc:], kc, o.col, P, dx, P, true, n.threads)
			}
		}
	}
	o.w.flush()
	if o.b != nil {
		o.dbias = grow(o.dbias, o.cout)
		clear(o.dbias)
		for i := range N {
			for c := range o.cout {
				var s float32
				for _, v := range y.grad[(i*o.cout+c)*plane : (i*o.cout+c+1)*plane] {
					s += v
				}
				o.dbias[c] += s
			}
		}
		for c, v := range o.dbias {
			o.b.p.G[c] += v // rounding the bias to int32 is a straight-through step
		}
	}
}
