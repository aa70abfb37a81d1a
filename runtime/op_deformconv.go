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

// deformSample is the bilinear value of plane [h, w] at (y, x): 0 when the point is
// a full pixel or more outside (or not a number: a NaN offset), each corner outside
// the plane counted as 0.
func deformSample(plane []float32, h, w int, y, x float32) float32 {
	if y != y || x != x || y <= -1 || float32(h) <= y || x <= -1 || float32(w) <= x {
		return 0
	}
	yl, xl := int(math.Floor(float64(y))), int(math.Floor(float64(x)))
	yh, xh := yl+1, xl+1
	ly, lx := y-float32(yl), x-float32(xl)
	hy, hx := 1-ly, 1-lx
	var v1, v2, v3, v4 float32
	if yl >= 0 && xl >= 0 {
		v1 = plane[yl*w+xl]
	}
	if yl >= 0 && xh <= w-1 {
		v2 = plane[yl*w+xh]
	}
	if yh <= h-1 && xl >= 0 {
		v3 = plane[yh*w+xl]
	}
	if yh <= h-1 && xh <= w-1 {
		v4 = plane[yh*w+xh]
	}
	return hy*hx*v1 + hy*lx*v2 + ly*hx*v3 + ly*lx*v4
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
	col := make([]float32, c*taps*p)
	chPerOff := c / k.offGroup
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			g := ch / chPerOff
			plane := xd[(b*c+ch)*h*wd:][:h*wd]
			offB := od[(b*k.offGroup+g)*2*taps*p:]
			for i := 0; i < kh; i++ {
				for j := 0; j < kw; j++ {
					t := i*kw + j
					dy, dx := offB[(2*t)*p:][:p], offB[(2*t+1)*p:][:p]
					var mt []float32
					if md != nil {
						mt = md[((b*k.offGroup+g)*taps+t)*p:][:p]
					}
					dst := col[(ch*taps+t)*p:][:p]
					for y := 0; y < oh; y++ {
						y0 := float32(y*geom.Strides[0] - geom.PadBegin(0) + i*geom.Dilations[0])
						for xx := 0; xx < ow; xx++ {
							q := y*ow + xx
							x0 := float32(xx*geom.Strides[1] - geom.PadBegin(1) + j*geom.Dilations[1])
							v := deformSample(plane, h, wd, y0+dy[q], x0+dx[q])
							if mt != nil {
								v *= mt[q]
							}
							dst[q] = v
						}
					}
				}
			}
		}
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
