package qat

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// conv3dOp is a 3-D Conv on [N, C, D, H, W] (video networks' spatio-temporal
// convolutions: R(2+1)D's (1, k, k) and (k, 1, 1) kernels, MC3's, X3D's
// depthwise ones; volumetric U-Nets), regular, grouped or depthwise, with the
// per-channel fake-quantized weight and the int32-rounded bias of the 2-D
// convolutions. Per image and group the forward pass is the float GEMM of the
// weight rows with the im2col columns; the weight gradient is dY times the
// columns (recomputed, not kept: a video batch's columns would be gigabytes), the
// input gradient the weight transposed times dY scattered back (col2im).
type conv3dOp struct {
	node    string
	in, out int
	w       *weightRef
	b       *biasRef
	group   int
	oc, c   int
	vol3
	col, dcol, dbias []float32
}

// vol3 is the geometry of a 3-D convolution: kernel, strides, dilations, pads
// before and after along D, H, W (autoPad SAME sets them per input), and for the
// last input its spatial sizes and the output's.
type vol3 struct {
	k, s, d    [3]int
	lo, hi     [3]int
	autoPad    string
	id, ih, iw int
	od, oh, ow int
}

// vol3Of reads a 3-D Conv's or ConvTranspose's strides, dilations and pads for
// kernel k.
func vol3Of(node *graph.Node, k []int) (vol3, error) {
	var v vol3
	ap, err := graph.NodeAutoPad(node)
	if err != nil {
		return v, err
	}
	v.autoPad = ap
	st := node.AttrInts("strides", []int64{1, 1, 1})
	dl := node.AttrInts("dilations", []int64{1, 1, 1})
	pd := node.AttrInts("pads", []int64{0, 0, 0, 0, 0, 0})
	if ap != graph.AutoPadNotSet {
		pd = []int64{0, 0, 0, 0, 0, 0}
	}
	if len(st) != 3 || len(dl) != 3 || len(pd) != 6 || len(k) != 3 {
		return v, fmt.Errorf("kernel %v, strides %v, dilations %v, pads %v: want 3, 3, 3 and 6 values", k, st, dl, pd)
	}
	for i := range 3 {
		v.k[i], v.s[i], v.d[i] = k[i], int(st[i]), int(dl[i])
		v.lo[i], v.hi[i] = int(pd[i]), int(pd[3+i])
		if v.s[i] < 1 || v.d[i] < 1 || v.lo[i] < 0 || v.hi[i] < 0 {
			return v, fmt.Errorf("strides %v, dilations %v, pads %v", st, dl, pd)
		}
	}
	return v, nil
}

func buildConv3d(b *builder, node *graph.Node, in int, w *weightRef, bias *biasRef) (built, error) {
	ws := w.p.Shape
	o := &conv3dOp{node: node.Label(), in: in, out: b.slot(), w: w, b: bias, group: int(node.AttrInt("group", 1)), oc: ws[0]}
	if o.group <= 0 || o.oc%o.group != 0 {
		return built{}, fmt.Errorf("group %d does not divide %d output channels", o.group, o.oc)
	}
	o.c = ws[1] * o.group
	var err error
	o.vol3, err = vol3Of(node, ws[2:])
	if err != nil {
		return built{}, err
	}
	return built{o, o.out}, nil
}

func (o *conv3dOp) label() string { return o.node }

// geom sets the sizes for input shape x and returns the output shape.
func (o *conv3dOp) geom(x []int) ([]int, error) {
	if len(x) != 5 || x[1] != o.c {
		return nil, fmt.Errorf("input shape %v, want [N,%d,D,H,W]", x, o.c)
	}
	out, err := o.vol3.setInput(x[2:])
	if err != nil {
		return nil, err
	}
	return []int{x[0], o.oc, out[0], out[1], out[2]}, nil
}

// setInput sets the input's spatial sizes in and returns the output's.
func (o *vol3) setInput(in []int) ([3]int, error) {
	var out [3]int
	for i := range 3 {
		if o.autoPad == graph.AutoPadSameUpper || o.autoPad == graph.AutoPadSameLower {
			o.lo[i], o.hi[i] = samePads(o.autoPad, in[i], o.k[i], o.s[i], o.d[i])
		}
		span := in[i] + o.lo[i] + o.hi[i] - (o.k[i]-1)*o.d[i] - 1
		if span < 0 {
			return out, fmt.Errorf("input %v is smaller than the kernel %v", in, o.k)
		}
		out[i] = span/o.s[i] + 1
	}
	o.id, o.ih, o.iw = in[0], in[1], in[2]
	o.od, o.oh, o.ow = out[0], out[1], out[2]
	return out, nil
}

// im2col fills col [cg·kd·kh·kw, od·oh·ow] with the taps of the cg channels at x
// (zero outside the input); col2im adds col back into x's positions instead.
func (o *vol3) im2col(x, col []float32, cg int, add bool) {
	P := o.od * o.oh * o.ow
	plane := o.id * o.ih * o.iw
	r := 0
	for c := range cg {
		xc := x[c*plane : (c+1)*plane]
		for a := range o.k[0] {
			for bb := range o.k[1] {
				for e := range o.k[2] {
					row := col[r*P : (r+1)*P]
					r++
					p := 0
					for z := range o.od {
						zi := z*o.s[0] - o.lo[0] + a*o.d[0]
						for y := range o.oh {
							yi := y*o.s[1] - o.lo[1] + bb*o.d[1]
							for xo := range o.ow {
								xi := xo*o.s[2] - o.lo[2] + e*o.d[2]
								in := zi >= 0 && zi < o.id && yi >= 0 && yi < o.ih && xi >= 0 && xi < o.iw
								switch {
								case add && in:
									xc[(zi*o.ih+yi)*o.iw+xi] += row[p]
								case !add && in:
									row[p] = xc[(zi*o.ih+yi)*o.iw+xi]
								case !add:
									row[p] = 0
								}
								p++
							}
						}
					}
				}
			}
		}
	}
}

func (o *conv3dOp) forward(n *Net) error {
	x, y := n.vals[o.in], n.vals[o.out]
	shape, err := o.geom(x.shape)
	if err != nil {
		return err
	}
	y.resize(shape)
	o.w.prepare(n)
	bias := o.b.prepare(o.w)
	N, G := x.shape[0], o.group
	cg, mg := o.c/G, o.oc/G
	kc := cg * o.k[0] * o.k[1] * o.k[2]
	P, plane := o.od*o.oh*o.ow, o.id*o.ih*o.iw
	o.col = grow(o.col, kc*P)
	for i := range N {
		for g := range G {
			o.im2col(x.data[(i*o.c+g*cg)*plane:], o.col, cg, false)
			yg := y.data[(i*o.oc+g*mg)*P : (i*o.oc+(g+1)*mg)*P]
			kernels.Sgemm(false, false, mg, P, kc, o.w.eff[g*mg*kc:], kc, o.col, P, yg, P, false, n.threads)
			if bias != nil {
				for m := range mg {
					bv := bias[g*mg+m]
					for p := range yg[m*P : (m+1)*P] {
						yg[m*P+p] += bv
					}
				}
			}
		}
	}
	return nil
}

func (o *conv3dOp) backward(n *Net) {
	x, y := n.vals[o.in], n.vals[o.out]
	N, G := x.shape[0], o.group
	cg, mg := o.c/G, o.oc/G
	kc := cg * o.k[0] * o.k[1] * o.k[2]
	P, plane := o.od*o.oh*o.ow, o.id*o.ih*o.iw
	dw := o.w.grad()
	if o.b != nil {
		o.dbias = grow(o.dbias, o.oc)
		clear(o.dbias)
	}
	if x.grad != nil {
		o.dcol = grow(o.dcol, kc*P)
	}
	for i := range N {
		for g := range G {
			dy := y.grad[(i*o.oc+g*mg)*P : (i*o.oc+(g+1)*mg)*P]
			o.im2col(x.data[(i*o.c+g*cg)*plane:], o.col, cg, false)
			kernels.Sgemm(false, true, mg, kc, P, dy, P, o.col, P, dw[g*mg*kc:], kc, true, n.threads)
			if x.grad != nil {
				kernels.Sgemm(true, false, kc, P, mg, o.w.eff[g*mg*kc:], kc, dy, P, o.dcol, P, false, n.threads)
				o.im2col(x.grad[(i*o.c+g*cg)*plane:], o.dcol, cg, true)
			}
			if o.b != nil {
				for m := range mg {
					var s float32
					for _, v := range dy[m*P : (m+1)*P] {
						s += v
					}
					o.dbias[g*mg+m] += s
				}
			}
		}
	}
	o.w.flush()
	if o.b != nil {
		for c, v := range o.dbias {
			o.b.p.G[c] += v // rounding the bias to int32 is a straight-through step
		}
	}
}
