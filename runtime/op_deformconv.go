package runtime

// DeformConv (opset 19): each output position's kernel taps are moved by the
// offsets read at that position (dy, dx per tap and offset group), the input is
// sampled bilinearly there (zero outside, as torchvision's and ONNX Runtime's
// deform_conv), weighted by the modulation mask when there is one (DCNv2), and the
// sampled columns meet the weights in one GEMM per group.

import (
	"fmt"
	"math"
	"sync"

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

// deformTables holds the corner table of every offset group of one image in
// kernels.DeformGatherF32's blocked layout: group g's entry e = t·p + q (tap
// t at output position q) in the blocks from g·nb on. A corner outside the
// plane reads the zero kept after the plane (index h·w) with its weight
// unchanged, and a point a pixel or more outside (or NaN) reads it four times
// with weight 0 (kernels.DeformCornersF32), so that the sum is, bit for bit,
// deformSample's (op_deformconv_test.go). Recycled across runs
// (deformTablePool).
type deformTables struct {
	idx []int32
	w   []float32
}

var deformTablePool sync.Pool

func getDeformTables(n int) *deformTables {
	if t, ok := deformTablePool.Get().(*deformTables); ok && cap(t.idx) >= n {
		t.idx, t.w = t.idx[:n], t.w[:n]
		return t
	}
	return &deformTables{idx: make([]int32, n), w: make([]float32, n)}
}

// deformColumns writes the sampled column matrix [c·taps][oh·ow] of one
// image x [c][h·w]: the moved taps' sample points of each offset group are
// turned into a corner table once (kernels.DeformCornersF32; the scalar
// version, deformSample of op_deformconv_test.go, redid them for every
// channel), then each channel gathers its four corners per tap and position
// with kernels.DeformGatherF32 (AVX-512 or AVX2 gathers), weights them in
// deformSample's order and multiplies by the mask (nil: none): the same bits
// as deformSample. Points and channels are split over threads.
func deformColumns(col, x, off, mask []float32, c int, d deformGeom, threads int) {
	taps, p, hw := d.kh*d.kw, d.oh*d.ow, d.h*d.w
	n := taps * p
	nb := (n + kernels.DeformBlock - 1) / kernels.DeformBlock
	np := nb * kernels.DeformBlock // a group's points, padded to whole blocks
	tb := getDeformTables(d.og * nb * 64)
	defer deformTablePool.Put(tb)
	pb := getF32(2 * d.og * np)
	defer putF32(pb)
	ys, xs := (*pb)[:d.og*np], (*pb)[d.og*np:]
	nan := float32(math.NaN()) // the padding: no corner, weight 0
	nnParallel(min(threads, d.og*taps), d.og*taps, func(lo, hi int) {
		for gt := lo; gt < hi; gt++ {
			g, t := gt/taps, gt%taps
			i, j := t/d.kw, t%d.kw
			dy, dx := off[(g*2*taps+2*t)*p:][:p], off[(g*2*taps+2*t+1)*p:][:p]
			py, px := ys[g*np+t*p:][:p], xs[g*np+t*p:][:p]
			for yy := 0; yy < d.oh; yy++ {
				y0 := float32(yy*d.sy - d.py + i*d.dy)
				row := yy * d.ow
				for xx, v := range dy[row : row+d.ow] {
					py[row+xx] = y0 + v
				}
				for xx, v := range dx[row : row+d.ow] {
					px[row+xx] = float32(xx*d.sx-d.px+j*d.dx) + v
				}
			}
			if t == taps-1 {
				for e := n; e < np; e++ {
					ys[g*np+e], xs[g*np+e] = nan, nan
				}
			}
		}
	})
	nnParallel(min(threads, d.og*nb), d.og*nb, func(lo, hi int) {
		kernels.DeformCornersF32(tb.idx[lo*64:hi*64], tb.w[lo*64:hi*64], ys[lo*16:hi*16], xs[lo*16:hi*16], d.h, d.w)
	})
	chPerOff := c / d.og
	nnParallel(min(threads, c), c, func(lo, hi int) {
		pl := getF32(hw + 1) // the plane and a zero
		defer putF32(pl)
		plane := *pl
		plane[hw] = 0
		for ch := lo; ch < hi; ch++ {
			copy(plane, x[ch*hw:(ch+1)*hw])
			g := ch / chPerOff
			var m []float32
			if mask != nil {
				m = mask[g*n:][:n]
			}
			kernels.DeformGatherF32(col[ch*n:][:n], plane, tb.idx[g*nb*64:][:nb*64], tb.w[g*nb*64:][:nb*64], m)
		}
	})
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
	if h > 1<<24 || wd > 1<<24 || int64(h)*int64(wd) >= 1<<31-1 {
		return nil, fmt.Errorf("X %v: a plane of 2³¹ or more elements (or a side over 2²⁴) is not supported", x.Shape)
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
