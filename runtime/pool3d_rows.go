package runtime

// 3-D MaxPool and AveragePool of channels-last tensors (layout_3d.go). A
// box window is separable: the max (or sum) over its depth taps of the
// input planes is one plane, and the 2-D pool of that plane over height and
// width (pool_rows.go, whole pixels lane-wise) is the 3-D pool of the
// output slice. The NCDHW pool walks every voxel's window tap by tap (7.7 ms
// for c3d_pool's first 2x2x2 pool of 16x8x64x64, one thread).
//
// The average's divisor is separable too: the number of valid (or, with
// count_include_pad, padded) positions of a box is the product of each
// axis's, so the depth sum is scaled by its axis's count before the 2-D
// average divides by the other two.

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// nhwc3DPoolKernel is a 3-D MaxPool (without indices) or AveragePool of a
// channels-last [N, D, H, W, S] tensor.
type nhwc3DPoolKernel struct {
	pool *poolKernel
	c    int
}

func (k *nhwc3DPoolKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	what := "AveragePool"
	if k.pool.isMax {
		what = "MaxPool"
	}
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x, st := in[0], pixelStride(k.c)
	if x.DType != graph.Float32 || len(x.Shape) != 5 || x.Shape[4] != st {
		return nil, fmt.Errorf("channels-last 3-D %s: input %v, want float32 [N, D, H, W, %d]", what, x.Shape, st)
	}
	n, d, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	geom, err := graph.ResolveConvGeom(k.pool.node, []int{d, h, w}, k.pool.kernel, k.pool.ceil)
	if err != nil {
		return nil, err
	}
	od, oh, ow := geom.Out[0], geom.Out[1], geom.Out[2]
	p3 := newPoolPlan([]int{d, h, w}, geom)
	g2 := &graph.ConvGeom{Out: geom.Out[1:], Kernel: geom.Kernel[1:], Strides: geom.Strides[1:], Dilations: geom.Dilations[1:],
		Pads: []int{geom.Pads[1], geom.Pads[2], geom.Pads[4], geom.Pads[5]}}
	p2 := newPoolPlan([]int{h, w}, g2)
	y := ctx.AllocF32(n * od * oh * ow * st)
	out := []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, od, oh, ow, st}, Data: y}}
	if len(y) == 0 {
		return out, nil
	}
	xd := x.F32()
	plane, oplane := h*w*st, oh*ow*st
	var tmp *[]float32
	th := min(ctx.Threads, max(1, oh*ow*k.c*p2.kSizeHint()/parallelMinWork))
	for img := 0; img < n; img++ {
		for z := 0; z < od; z++ {
			ys := y[(img*od+z)*oplane : (img*od+z+1)*oplane]
			lo, hi := p3.tapLo[0][z], p3.tapHi[0][z]
			if lo >= hi {
				// A window entirely in the padding: an empty max, a zero sum.
				v := float32(0)
				if k.pool.isMax {
					v = float32(math.Inf(-1))
				}
				for i := range ys {
					ys[i] = v
				}
				continue
			}
			first := (img*d + p3.start[0][z] + lo*p3.d[0]) * plane
			src := xd[first : first+plane]
			div := hi - lo
			if k.pool.includePad {
				div = p3.paddedTaps[0][z]
			}
			if hi-lo > 1 || (!k.pool.isMax && div != 1) {
				if tmp == nil {
					tmp = getF32(plane)
					defer putF32(tmp)
				}
				acc := *tmp
				copy(acc, src)
				for t := lo + 1; t < hi; t++ {
					o := (img*d + p3.start[0][z] + t*p3.d[0]) * plane
					if k.pool.isMax {
						kernels.MaxF32(acc, xd[o:o+plane])
					} else {
						kernels.AddF32(acc, xd[o:o+plane])
					}
				}
				if !k.pool.isMax && div != 1 {
					s := 1 / float32(div)
					for i := range acc {
						acc[i] *= s
					}
				}
				src = acc
			}
			g := &nhwcPoolGeom{n: 1, h: h, w: w, oh: oh, ow: ow, st: st, so: st, p: p2, xd: src, yd: ys}
			poolRowsNHWC(g, k.c, k.pool.isMax, k.pool.includePad, th)
		}
	}
	return out, nil
}
