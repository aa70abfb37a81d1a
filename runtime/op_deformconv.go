package runtime

// DeformConv (opset 19): each output position's kernel taps are moved by the
// offsets read at that position (dy, dx per tap and offset group), the input is
// sampled bilinearly there (zero outside, as torchvision's and ONNX Runtime's
// deform_conv), weighted by the modulation mask when there is one (DCNv2), and the
// sampled columns meet the weights in one GEMM per group.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// deformGeom is the geometry of one DeformConv: input plane, output plane,
// kernel, strides, leading pads, dilations and offset groups.
type deformGeom struct {
	h, w, oh, ow, kh, kw int
	sy, sx, py, px       int
	dy, dx               int
	og                   int
}

// deformTap is one moved tap at one output position: the plane indices of
// its four bilinear corners and their weights. A corner outside the plane
// reads the zero after the plane (index h·w) with its weight unchanged, and
// a point a pixel or more outside (or NaN) reads it four times with weight
// 0, so that the sum below is, bit for bit, deformSample's
// (op_deformconv_test.go).
type deformTap struct {
	i [4]int32
	w [4]float32
}

// deformColumns writes the sampled column matrix [c·taps][oh·ow] of one
// image x [c][h·w]: the bilinear coordinates and weights of each offset
// group's taps are computed once (the scalar version, deformSample of
// op_deformconv_test.go, redid them for every channel), then each channel gathers its four corners per tap and
// position, weights them in deformSample's order and multiplies by the
// mask (nil: none). Channels are split over threads.
func deformColumns(col, x, off, mask []float32, c int, d deformGeom, threads int) {
	taps, p, hw := d.kh*d.kw, d.oh*d.ow, d.h*d.w
	tb := make([]deformTap, d.og*taps*p)
	nnParallel(min(threads, d.og*taps), d.og*taps, func(lo, hi int) {
		for gt := lo; gt < hi; gt++ {
			g, t := gt/taps, gt%taps
			i, j := t/d.kw, t%d.kw
			dy, dx := off[(g*2*taps+2*t)*p:][:p], off[(g*2*taps+2*t+1)*p:][:p]
			dst := tb[gt*p:][:p]
			for yy := 0; yy < d.oh; yy++ {
				y0 := float32(yy*d.sy - d.py + i*d.dy)
				for xx := 0; xx < d.ow; xx++ {
					q := yy*d.ow + xx
					dst[q] = deformCorners(d.h, d.w, y0+dy[q], float32(xx*d.sx-d.px+j*d.dx)+dx[q])
				}
			}
		}
	})
	chPerOff := c / d.og
	nnParallel(min(threads, c), c, func(lo, hi int) {
		plane := make([]float32, hw+1) // the plane and a zero
		for ch := lo; ch < hi; ch++ {
			copy(plane, x[ch*hw:(ch+1)*hw])
			g := ch / chPerOff
			for t := 0; t < taps; t++ {
				src := tb[(g*taps+t)*p:][:p]
				dst := col[(ch*taps+t)*p:][:p]
				for q := range dst {
					s := &src[q]
					dst[q] = s.w[0]*plane[s.i[0]] + s.w[1]*plane[s.i[1]] + s.w[2]*plane[s.i[2]] + s.w[3]*plane[s.i[3]]
				}
				if mask != nil {
					for q, m := range mask[(g*taps+t)*p:][:p] {
						dst[q] *= m
					}
				}
			}
		}
	})
}

// deformCorners is deformSample's arithmetic without the plane: the corner
// indices into a [h·w + 1] plane whose last element is 0, and the weights.
func deformCorners(h, w int, y, x float32) deformTap {
	zero := int32(h * w)
	if y != y || x != x || y <= -1 || float32(h) <= y || x <= -1 || float32(w) <= x {
		return deformTap{i: [4]int32{zero, zero, zero, zero}}
	}
	yl, xl := int(math.Floor(float64(y))), int(math.Floor(float64(x)))
	yh, xh := yl+1, xl+1
	ly, lx := y-float32(yl), x-float32(xl)
	hy, hx := 1-ly, 1-lx
	t := deformTap{i: [4]int32{zero, zero, zero, zero}, w: [4]float32{hy * hx, hy * lx, ly * hx, ly * lx}}
	if yl >= 0 && xl >= 0 {
		t.i[0] = int32(yl*w + xl)
	}
	if yl >= 0 && xh <= w-1 {
		t.i[1] = int32(yl*w + xh)
	}
	if yh <= h-1 && xl >= 0 {
		t.i[2] = int32(yh*w + xl)
	}
	if yh <= h-1 && xh <= w-1 {
		t.i[3] = int32(yh*w + xh)
	}
	return t
}

type deformConv struct {
	group, offGroup int
	threads         int
	node            *graph.Node
}

func buildDeformConv(b *BuildContext) (Kernel, error) {
	group, og, err := graph.DeformConvGroups(b.Node)
	if err != nil {
		return nil, err
	}
	k := &deformConv{group: group, offGroup: og, threads: b.Threads, node: b.Node}
	return KernelFunc(k.run), nil
}

func (k *deformConv) run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 3); err != nil {
		return nil, err
	}
	x, w, off := in[0], in[1], in[2]
	var bias, mask *graph.Tensor
	if len(in) > 3 {
		bias = in[3]
	}
	if len(in) > 4 {
		mask = in[4]
	}
	for i, t := range []*graph.Tensor{x, w, off, bias, mask} {
		if t != nil && t.DType != graph.Float32 {
			return nil, fmt.Errorf("input %d is %s; DeformConv runs float32 only", i, t.DType)
		}
	}
	if len(x.Shape) != 4 || len(w.Shape) != 4 {
		return nil, fmt.Errorf("X %v and W %v must be 4-D", x.Shape, w.Shape)
	}
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oc, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	if cg*k.group != c || oc%k.group != 0 || c%k.offGroup != 0 {
		return nil, fmt.Errorf("W %v with group %d does not fit X %v (offset_group %d)", w.Shape, k.group, x.Shape, k.offGroup)
	}
	geom, err := graph.ResolveConvGeom(k.node, []int{h, wd}, []int{kh, kw}, false)
	if err != nil {
		return nil, err
	}
	oh, ow := geom.Out[0], geom.Out[1]
	taps, p := kh*kw, geom.Out[0]*geom.Out[1]
	if !sameInts(off.Shape, []int{n, k.offGroup * 2 * taps, oh, ow}) {
		return nil, fmt.Errorf("offset has shape %v, expected [%d %d %d %d]", off.Shape, n, k.offGroup*2*taps, oh, ow)
	}
	if mask != nil && !sameInts(mask.Shape, []int{n, k.offGroup * taps, oh, ow}) {
		return nil, fmt.Errorf("mask has shape %v, expected [%d %d %d %d]", mask.Shape, n, k.offGroup*taps, oh, ow)
	}
	if bias != nil && (len(bias.Shape) != 1 || bias.Shape[0] != oc) {
		return nil, fmt.Errorf("bias B has shape %v, expected [%d]", bias.Shape, oc)
	}
	xd, wdat, od := x.F32(), w.F32(), off.F32()
	var md []float32
	if mask != nil {
		md = mask.F32()
	}
	out := make([]float32, n*oc*p)
	colBuf := getF32(c * taps * p)
	defer putF32(colBuf)
	col := *colBuf
	d := deformGeom{h: h, w: wd, oh: oh, ow: ow, kh: kh, kw: kw,
		sy: geom.Strides[0], sx: geom.Strides[1], py: geom.PadBegin(0), px: geom.PadBegin(1),
		dy: geom.Dilations[0], dx: geom.Dilations[1], og: k.offGroup}
	threads := max(1, ctx.Threads)
	for b := 0; b < n; b++ {
		var mb []float32
		if md != nil {
			mb = md[b*k.offGroup*taps*p:][:k.offGroup*taps*p]
		}
		deformColumns(col, xd[b*c*h*wd:][:c*h*wd], od[b*k.offGroup*2*taps*p:][:k.offGroup*2*taps*p], mb, c, d, threads)
		ocg, kk := oc/k.group, cg*taps
		for g := 0; g < k.group; g++ {
			dst := out[(b*oc+g*ocg)*p:][:ocg*p]
			kernels.Sgemm(false, false, ocg, p, kk, wdat[g*ocg*kk:], kk, col[g*kk*p:], p, dst, p, false, max(1, ctx.Threads))
		}
		if bias != nil {
			bd := bias.F32()
			for o := 0; o < oc; o++ {
				row := out[(b*oc+o)*p:][:p]
				for q := range row {
					row[q] += bd[o]
				}
			}
		}
	}
	return []*graph.Tensor{graph.FromFloat32([]int{n, oc, oh, ow}, out)}, nil
}

func init() {
	Register(OpInfo{OpType: "DeformConv", Build: buildDeformConv})
}
