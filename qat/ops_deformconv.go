package qat

import (
	"fmt"
	"math"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// deformConvOp is DeformConv (opset 19; torchvision's deform_conv2d, DCNv2 with
// its modulation mask): each output position's kernel taps are moved by the
// offsets read at that position, the input is sampled bilinearly there (zero
// outside, as the runtime's kernel and torchvision), times the mask, and the
// sampled columns meet the per-channel fake-quantized weight in one GEMM per
// group. The gradients: the weight's, dY times the columns; the columns', the
// weight transposed times dY, which goes to the input at the four corners of
// each sample point (times their bilinear weights and the mask), to the mask as
// the unmasked sample, and to the offsets as the derivative of the bilinear
// weights, hx·(v3 − v1) + lx·(v4 − v2) along y (torchvision's
// deform_conv2d_backward). The columns are recomputed in the backward pass, per
// image, as the 3-D convolution does.
type deformConvOp struct {
	node          string
	x, off, mask  int // mask -1: none
	out           int
	w             *weightRef
	b             *biasRef
	group, og     int
	gn            *graph.Node
	d             deformGeom
	c, oc         int
	col, dcol, db []float32
}

// deformGeom is the geometry of a DeformConv for the last input size.
type deformGeom struct {
	h, w, oh, ow, kh, kw int
	sy, sx, py, px       int
	dy, dx               int
}

func buildDeformConv(b *builder, node *graph.Node) (built, error) {
	group, og, err := graph.DeformConvGroups(node)
	if err != nil {
		return built{}, err
	}
	o := &deformConvOp{node: node.Label(), gn: node, group: group, og: og, mask: -1}
	if o.x, err = b.input(node, node.Input(0)); err != nil {
		return built{}, err
	}
	if o.w, err = b.weight(node.Input(1)); err != nil {
		return built{}, fmt.Errorf("weight: %w", err)
	}
	if len(o.w.p.Shape) != 4 {
		return built{}, fmt.Errorf("weight shape %v: DeformConv is 2-D", o.w.p.Shape)
	}
	if o.off, err = b.input(node, node.Input(2)); err != nil {
		return built{}, err
	}
	if o.b, err = b.biasOf(node.Input(3), o.x); err != nil {
		return built{}, fmt.Errorf("bias: %w", err)
	}
	if m := node.Input(4); m != "" {
		if o.mask, err = b.input(node, m); err != nil {
			return built{}, err
		}
	}
	o.oc, o.c = o.w.p.Shape[0], o.w.p.Shape[1]*group
	if o.oc%group != 0 || o.c%og != 0 {
		return built{}, fmt.Errorf("weight %v with group %d and offset_group %d", o.w.p.Shape, group, og)
	}
	o.out = b.slot()
	return built{o, o.out}, nil
}

func (o *deformConvOp) label() string { return o.node }

// geom sets the geometry for the current input and checks the offsets and mask.
func (o *deformConvOp) geom(n *Net) error {
	x := n.vals[o.x].shape
	if len(x) != 4 || x[1] != o.c {
		return fmt.Errorf("input shape %v, want [N,%d,H,W]", x, o.c)
	}
	ws := o.w.p.Shape
	g, err := graph.ResolveConvGeom(o.gn, x[2:], ws[2:], false)
	if err != nil {
		return err
	}
	o.d = deformGeom{h: x[2], w: x[3], oh: g.Out[0], ow: g.Out[1], kh: ws[2], kw: ws[3],
		sy: g.Strides[0], sx: g.Strides[1], py: g.PadBegin(0), px: g.PadBegin(1), dy: g.Dilations[0], dx: g.Dilations[1]}
	taps := o.d.kh * o.d.kw
	if want := []int{x[0], o.og * 2 * taps, o.d.oh, o.d.ow}; !slices.Equal(n.vals[o.off].shape, want) {
		return fmt.Errorf("offset has shape %v, expected %v", n.vals[o.off].shape, want)
	}
	if o.mask >= 0 {
		if want := []int{x[0], o.og * taps, o.d.oh, o.d.ow}; !slices.Equal(n.vals[o.mask].shape, want) {
			return fmt.Errorf("mask has shape %v, expected %v", n.vals[o.mask].shape, want)
		}
	}
	return nil
}

// point is the sample point of tap t at output position q for offset group g
// of image i.
func (o *deformConvOp) point(off []float32, i, g, t, q int) (y, x float32) {
	d := &o.d
	taps, p := d.kh*d.kw, d.oh*d.ow
	base := ((i*o.og+g)*2*taps + 2*t) * p
	ki, kj := t/d.kw, t%d.kw
	yy, xx := q/d.ow, q%d.ow
	y = float32(yy*d.sy-d.py+ki*d.dy) + off[base+q]
	x = float32(xx*d.sx-d.px+kj*d.dx) + off[base+p+q]
	return y, x
}

// bilinear is the corners of point (y, x) in an h×w plane: their indices (-1
// outside) and weights, and the fractions ly, lx; ok is false for a point a pixel
// or more outside (or NaN), which samples 0.
func bilinear(y, x float32, h, w int) (idx [4]int, wt [4]float32, ly, lx float32, ok bool) {
	if !(y > -1 && y < float32(h) && x > -1 && x < float32(w)) {
		return idx, wt, 0, 0, false
	}
	y0, x0 := int(math.Floor(float64(y))), int(math.Floor(float64(x)))
	ly, lx = y-float32(y0), x-float32(x0)
	hy, hx := 1-ly, 1-lx
	corner := func(yy, xx int) int {
		if yy < 0 || yy >= h || xx < 0 || xx >= w {
			return -1
		}
		return yy*w + xx
	}
	idx = [4]int{corner(y0, x0), corner(y0, x0+1), corner(y0+1, x0), corner(y0+1, x0+1)}
	wt = [4]float32{hy * hx, hy * lx, ly * hx, ly * lx}
	return idx, wt, ly, lx, true
}

// columns writes image i's sampled columns [c·taps][p], masked.
func (o *deformConvOp) columns(n *Net, i int) {
	d := &o.d
	taps, p, hw := d.kh*d.kw, d.oh*d.ow, d.h*d.w
	x, off := n.vals[o.x].data, n.vals[o.off].data
	cpg := o.c / o.og
	o.col = grow(o.col, o.c*taps*p)
	for ch := range o.c {
		g := ch / cpg
		plane := x[(i*o.c+ch)*hw:][:hw]
		for t := range taps {
			row := o.col[(ch*taps+t)*p:][:p]
			for q := range row {
				py, px := o.point(off, i, g, t, q)
				idx, wt, _, _, ok := bilinear(py, px, d.h, d.w)
				var v float32
				if ok {
					for k, at := range idx {
						if at >= 0 {
							v += wt[k] * plane[at]
						}
					}
				}
				if o.mask >= 0 {
					v *= n.vals[o.mask].data[((i*o.og+g)*taps+t)*p+q]
				}
				row[q] = v
			}
		}
	}
}

func (o *deformConvOp) forward(n *Net) error {
	if err := o.geom(n); err != nil {
		return err
	}
	N := n.vals[o.x].shape[0]
	p := o.d.oh * o.d.ow
	y := n.vals[o.out]
	y.resize([]int{N, o.oc, o.d.oh, o.d.ow})
	o.w.prepare(n)
	bias := o.b.prepare(o.w)
	mg, kk := o.oc/o.group, o.c/o.group*o.d.kh*o.d.kw
	for i := range N {
		o.columns(n, i)
		for g := range o.group {
			dst := y.data[(i*o.oc+g*mg)*p:][:mg*p]
			kernels.Sgemm(false, false, mg, p, kk, o.w.eff[g*mg*kk:], kk, o.col[g*kk*p:], p, dst, p, false, n.threads)
		}
		if bias != nil {
			for c := range o.oc {
				row := y.data[(i*o.oc+c)*p:][:p]
				for q := range row {
					row[q] += bias[c]
				}
			}
		}
	}
	return nil
}

func (o *deformConvOp) backward(n *Net) {
	d := &o.d
	N := n.vals[o.x].shape[0]
	taps, p, hw := d.kh*d.kw, d.oh*d.ow, d.h*d.w
	mg, kk := o.oc/o.group, o.c/o.group*taps
	cpg := o.c / o.og
	x, off, y := n.vals[o.x], n.vals[o.off], n.vals[o.out]
	var mask *tensor
	if o.mask >= 0 {
		mask = n.vals[o.mask]
	}
	dw := o.w.grad()
	if o.b != nil {
		o.db = grow(o.db, o.oc)
		clear(o.db)
	}
	needCols := x.grad != nil || off.grad != nil || (mask != nil && mask.grad != nil)
	if needCols {
		o.dcol = grow(o.dcol, o.c*taps*p)
	}
	for i := range N {
		o.columns(n, i)
		for g := range o.group {
			dy := y.grad[(i*o.oc+g*mg)*p:][:mg*p]
			kernels.Sgemm(false, true, mg, kk, p, dy, p, o.col[g*kk*p:], p, dw[g*mg*kk:], kk, true, n.threads)
			if needCols {
				kernels.Sgemm(true, false, kk, p, mg, o.w.eff[g*mg*kk:], kk, dy, p, o.dcol[g*kk*p:], p, false, n.threads)
			}
			if o.b != nil {
				for m := range mg {
					var s float32
					for _, v := range dy[m*p:][:p] {
						s += v
					}
					o.db[g*mg+m] += s
				}
			}
		}
		if !needCols {
			continue
		}
		for ch := range o.c {
			g := ch / cpg
			plane := x.data[(i*o.c+ch)*hw:][:hw]
			var gplane []float32
			if x.grad != nil {
				gplane = x.grad[(i*o.c+ch)*hw:][:hw]
			}
			base := ((i*o.og + g) * 2 * taps) * p
			for t := range taps {
				drow := o.dcol[(ch*taps+t)*p:][:p]
				for q, dc := range drow {
					if dc == 0 {
						continue
					}
					py, px := o.point(off.data, i, g, t, q)
					idx, wt, ly, lx, ok := bilinear(py, px, d.h, d.w)
					if !ok {
						continue
					}
					var v [4]float32
					var s float32
					for k, at := range idx {
						if at >= 0 {
							v[k] = plane[at]
							s += wt[k] * v[k]
						}
					}
					m := float32(1)
					mi := ((i*o.og+g)*taps+t)*p + q
					if mask != nil {
						m = mask.data[mi]
						if mask.grad != nil {
							mask.grad[mi] += dc * s
						}
					}
					if gplane != nil {
						for k, at := range idx {
							if at >= 0 {
								gplane[at] += dc * m * wt[k]
							}
						}
					}
					if off.grad != nil {
						hy, hx := 1-ly, 1-lx
						off.grad[base+2*t*p+q] += dc * m * (hx*(v[2]-v[0]) + lx*(v[3]-v[1]))
						off.grad[base+(2*t+1)*p+q] += dc * m * (hy*(v[1]-v[0]) + ly*(v[3]-v[2]))
					}
				}
			}
		}
	}
	o.w.flush()
	if o.b != nil {
		for c, v := range o.db {
			o.b.p.G[c] += v // rounding the bias to int32 is a straight-through step
		}
	}
}
