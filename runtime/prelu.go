package runtime

// PRelu on the vector kernels (thirteenth session). torch.onnx writes
// nn.PReLU(C) as PRelu(x, slope) with a [C, 1, 1] constant: the generic
// broadcasting kernel ran it per element through a function value, and, not
// known to the channels-last pass, it cut the chains of face nets and
// ENet-style segmenters (MobileFaceNet: 41% of the float32 step time). A
// slope of one element is a convolution epilogue (fuse_act.go, as
// LeakyRelu); one slope per channel runs here: per NCHW plane as a
// LeakyRelu of that channel's slope, or along each channels-last pixel
// (kernels.PReluRowsF32). Both compute x < 0 ? s·x : x with one float32
// product, the generic kernel's arithmetic: the bits do not change.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// preluKernel runs a float32 PRelu whose slope is one value or one per
// channel (axis 1) on the vector kernels, anything else on generic.
type preluKernel struct{ generic Kernel }

func buildPRelu(b *BuildContext) (Kernel, error) {
	g, err := buildArith(b)
	if err != nil {
		return nil, err
	}
	return &preluKernel{generic: g}, nil
}

// preluChannels reports whether a slope of shape ss broadcasts against x of
// shape xs without changing it, as one value (c = 1) or one value per index
// of axis 1 (c = xs[1]).
func preluChannels(xs, ss []int) (c int, ok bool) {
	if len(ss) > len(xs) {
		return 0, false
	}
	if graph.NumElements(ss) == 1 {
		return 1, true
	}
	if len(xs) < 2 {
		return 0, false
	}
	for i, d := range ss {
		axis := len(xs) - len(ss) + i
		if axis == 1 && d == xs[1] || d == 1 {
			continue
		}
		return 0, false
	}
	return xs[1], len(ss) >= len(xs)-1
}

func (k *preluKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil || in[0].DType != graph.Float32 || in[1].DType != graph.Float32 {
		return k.generic.Run(ctx, in)
	}
	x, s := in[0], in[1]
	c, ok := preluChannels(x.Shape, s.Shape)
	if !ok {
		return k.generic.Run(ctx, in)
	}
	xd, sd := x.F32(), s.F32()
	y := ctx.AllocF32(len(xd))
	out := []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}
	if c == 1 {
		actParallel(ctx.Threads, kernels.LeakyReluAct(sd[0]), y, xd)
		return out, nil
	}
	plane := graph.NumElements(x.Shape[2:])
	planes := len(xd) / max(1, plane)
	parallelForGrain(ctx.Threads, planes, max(1, actParallelMin/max(1, plane)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			kernels.ActF32(kernels.LeakyReluAct(sd[p%c]), y[p*plane:(p+1)*plane], xd[p*plane:(p+1)*plane])
		}
	})
	return out, nil
}

// channelsLastPReluSlope returns the per-channel slope of a PRelu step over
// c channels whose slope is a constant of one value or one per channel (the
// shape preluChannels accepts for a rank-4 input), expanded to c values; nil
// for anything else.
func (s *Session) channelsLastPReluSlope(st step, c int) []float32 {
	if !isOp(st.node, "PRelu") || len(st.in) != 2 || len(st.out) != 1 || st.out[0] < 0 || st.in[1] < 0 || c <= 0 {
		return nil
	}
	t := s.consts[st.in[1]]
	if t == nil || t.DType != graph.Float32 {
		return nil
	}
	n, ok := preluChannels([]int{1, c, 2, 2}, t.Shape)
	if !ok {
		return nil
	}
	slope := make([]float32, c)
	for i := range slope {
		slope[i] = t.F32()[i%n]
	}
	return slope
}

// nhwcPReluKernel is a PRelu with one slope per channel on a channels-last
// tensor: each pixel's c channels against the slope vector; the padding
// channels of the pixel stride are written as zeros.
type nhwcPReluKernel struct {
	slope []float32
}

func (k *nhwcPReluKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	c := len(k.slope)
	x, st, err := channelsLastInput(in[:min(1, len(in))], c)
	if err != nil {
		return nil, fmt.Errorf("channels-last PRelu: %w", err)
	}
	xd := x.F32()
	y := ctx.AllocF32(len(xd))
	px := len(xd) / st
	parallelForGrain(ctx.Threads, px, max(1, actParallelMin/st), func(lo, hi int) {
		kernels.PReluRowsF32(y[lo*st:hi*st], xd[lo*st:hi*st], k.slope, hi-lo, c, st)
		if st > c {
			for p := lo; p < hi; p++ {
				clear(y[p*st+c : (p+1)*st])
			}
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}
