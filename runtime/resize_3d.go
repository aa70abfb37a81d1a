package runtime

// Trilinear (and nearest) Resize of three adjacent axes (twentieth session):
// a 3-D UNet's upsampling of [N, C, D, H, W] (NCDHW, float32) or of the int8
// executor's channels-last codes [N, D, H, W, C] (unet3d_op13's side branch).
// The per-axis path resampled it in float64 one axis at a time, the int8
// codes widened to float32 first and narrowed after (0.06 ms of unet3d's
// 0.47 ms of int8 steps, as much as its float32 Resize). Interpolation is
// separable: each output plane of the first axis is the blend of two input
// planes (one for nearest), and the plane is then resized in its other two
// axes by the two-axis plan of resize_bilinear.go. The blended planes are
// float32; int8 codes are widened as they are read and rounded once, half to
// even, at the end, as the per-axis path does.

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// resize3D is the plan of a resize of three adjacent axes: the first
// (depth) resampled plane by plane into [outer·od, h, w, inner], then p2.
type resize3D struct {
	outer, d, od int
	plane        int       // values of one depth plane: h·w·inner
	linear       bool      // two taps per output plane, else one
	dIdx         []int     // input plane of each tap
	dW           []float32 // weights of the linear taps
	p2           *resize2D // the other two axes, on outer·od planes
}

// plan3D returns the plan of resizing xs to outShape, or nil when the
// resize is not one of exactly three adjacent axes of at most two taps each
// (cubic, an antialiased downscale, tf_crop_and_resize, an empty axis).
func (k *resizeKernel) plan3D(xs, outShape []int, scales []float64) *resize3D {
	if k.mode == "cubic" || k.ctm == "tf_crop_and_resize" || len(xs) < 3 {
		return nil
	}
	if k.cache == nil {
		return k.buildPlan3D(xs, outShape, scales)
	}
	return cachedPlan(&k.cache.mu, &k.cache.plans3, planKey(xs, outShape, scales), func() *resize3D {
		return k.buildPlan3D(xs, outShape, scales)
	})
}

func (k *resizeKernel) buildPlan3D(xs, outShape []int, scales []float64) *resize3D {
	var changed []int
	for a := range xs {
		if xs[a] == 0 || outShape[a] == 0 {
			return nil
		}
		m := k.cachedAxisMap(xs[a], outShape[a], scales[a], nil)
		if m.identity() {
			continue
		}
		if m.taps > 2 || m.extra != nil {
			return nil
		}
		changed = append(changed, a)
	}
	if len(changed) != 3 || changed[1] != changed[0]+1 || changed[2] != changed[0]+2 {
		return nil
	}
	a0 := changed[0]
	dm := k.cachedAxisMap(xs[a0], outShape[a0], scales[a0], nil)
	// After the depth pass the first axis has its output size: scale 1 there
	// is the identity, and the two-axis plan takes the rest.
	xs2, sc2 := slices.Clone(xs), slices.Clone(scales)
	xs2[a0], sc2[a0] = outShape[a0], 1
	p2 := k.buildPlan2D(xs2, outShape, sc2)
	if p2 == nil || p2.linear != (dm.taps == 2) {
		return nil
	}
	p := &resize3D{outer: 1, d: xs[a0], od: outShape[a0], plane: p2.h * p2.w * p2.inner, linear: dm.taps == 2, dIdx: dm.idx, p2: p2}
	for _, n := range xs[:a0] {
		p.outer *= n
	}
	if p.linear {
		p.dW = make([]float32, len(dm.w))
		for i, v := range dm.w {
			p.dW[i] = float32(v)
		}
	}
	return p
}

// depth writes the outer·od depth-resampled planes of x (outer·d planes)
// into t.
func (p *resize3D) depth(x, t []float32, threads int) {
	pl := p.plane
	n := p.outer * p.od
	nnParallel(memPassThreads(threads, n*pl), n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, z := r/p.od, r%p.od
			src := x[o*p.d*pl : (o+1)*p.d*pl]
			dst := t[r*pl : (r+1)*pl]
			if !p.linear {
				i := p.dIdx[z]
				copy(dst, src[i*pl:(i+1)*pl])
				continue
			}
			i0, i1, a, b := p.dIdx[2*z], p.dIdx[2*z+1], p.dW[2*z], p.dW[2*z+1]
			switch {
			case b == 0 || i0 == i1:
				copy(dst, src[i0*pl:(i0+1)*pl])
			case a == 0:
				copy(dst, src[i1*pl:(i1+1)*pl])
			default:
				off, w := [2]int64{int64(i0 * pl), int64(i1 * pl)}, [2]float32{a, b}
				kernels.Blend2F32(dst, 0, src, off[:], w[:], 1, pl)
			}
		}
	})
}

// runF32 resizes x into y (both in the plan's layout).
func (p *resize3D) runF32(ctx *ExecContext, x, y []float32) {
	t := ctx.AllocF32(p.outer * p.od * p.plane)
	p.depth(x, t, ctx.Threads)
	p.p2.runF32(t, y, 0, ctx.Threads)
}

// runI8 resizes the int8 codes x into y: the values interpolated in float32
// from the codes, rounded half to even and saturated once.
func (p *resize3D) runI8(ctx *ExecContext, x, y []int8) {
	wide := ctx.AllocF32(len(x))
	kernels.AffineMapI8(wide, x, 1, 0) // c·1 + 0 with one FMA: exactly float32(c)
	y32 := ctx.AllocF32(len(y))
	p.runF32(ctx, wide, y32)
	n := len(y)
	nnParallel(memPassThreads(ctx.Threads, n), (n+4095)/4096, func(lo, hi int) {
		a, b := lo*4096, min(hi*4096, n)
		kernels.QuantizeF32(y32[a:b], 1, 0, y[a:b])
	})
}

// run3D resizes x by a three-axis plan, or returns nil when there is none.
func (k *resizeKernel) run3D(ctx *ExecContext, x *graph.Tensor, outShape []int, scales, roi []float64) []*graph.Tensor {
	if roi != nil || (x.DType != graph.Float32 && x.DType != graph.Int8) {
		return nil
	}
	p := k.plan3D(x.Shape, outShape, scales)
	if p == nil {
		return nil
	}
	n := graph.NumElements(outShape)
	if x.DType == graph.Int8 {
		y := ctx.AllocI8(n)
		p.runI8(ctx, x.Data.([]int8), y)
		return []*graph.Tensor{{DType: graph.Int8, Shape: outShape, Data: y}}
	}
	y := ctx.AllocF32(n)
	p.runF32(ctx, x.F32(), y)
	return []*graph.Tensor{{DType: graph.Float32, Shape: outShape, Data: y}}
}
