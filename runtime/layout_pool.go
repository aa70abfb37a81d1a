package runtime

// AveragePool (and the zero Pad torch.onnx writes before it) inside the
// channels-last chains: DenseNet's transitions (Conv → Pad → AveragePool →
// the next dense block). The NCHW AveragePool walks every plane's windows
// tap by tap; channels-last, a window is a handful of whole pixels added
// lane-wise.

import (
	"fmt"
	"sync"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// channelsLastAvgPool returns the 2-D AveragePool kernel of a step, or nil.
func channelsLastAvgPool(st step) *poolKernel {
	k, ok := st.kernel.(*poolKernel)
	if !ok || k.isMax || len(k.kernel) != 2 || len(st.out) != 1 || st.out[0] < 0 {
		return nil
	}
	return k
}

// zeroPad reports whether a step is a Pad that pads nothing (a copy, in any
// layout): its pads are constant zeros and it has no axes input.
func (s *Session) zeroPad(st step) bool {
	k, ok := st.kernel.(*padKernel)
	if !ok || len(st.out) != 1 || len(st.in) < 1 || len(st.in) > 3 {
		return false
	}
	pads := k.attrPads
	if !k.legacy {
		if len(st.in) < 2 || st.in[1] < 0 || s.consts[st.in[1]] == nil {
			return false
		}
		var err error
		if pads, err = intsInput(s.consts[st.in[1]], "pads"); err != nil {
			return false
		}
	}
	if len(pads) != 8 {
		return false
	}
	for _, v := range pads {
		if v != 0 {
			return false
		}
	}
	return true
}

// nhwcAvgPoolKernel is a 2-D AveragePool of a channels-last tensor.
type nhwcAvgPoolKernel struct {
	pool *poolKernel
	c    int
	out  *outView // in a Concat's buffer (concat_view.go), or nil
	// dw is the pool as a depthwise convolution (avgpool_dw.go), packed on
	// first use.
	dwOnce sync.Once
	dw     *kernels.DWWeightsF32
}

func (k *nhwcAvgPoolKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	g, err := nhwcPoolSetup(ctx, in, k.pool, k.c, "AveragePool", k.out)
	if err != nil {
		return nil, err
	}
	n, h, w, oh, ow, st, p, xd, yd := g.n, g.h, g.w, g.oh, g.ow, g.st, g.p, g.xd, g.yd
	so, yo := g.so, g.yo
	if k.runDepthwise(ctx, g) {
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: yd}}, nil
	}
	th := min(ctx.Threads, max(1, n*oh*ow*k.c*p.kSizeHint()/parallelMinWork))
	nnParallel(th, n*oh, func(lo, hi int) {
		acc := make([]float64, k.c)
		for r := lo; r < hi; r++ {
			img, i := r/oh, r%oh
			hs, hl, hh := p.start[0][i], p.tapLo[0][i], p.tapHi[0][i]
			for j := 0; j < ow; j++ {
				dst := yd[((img*oh+i)*ow+j)*so+yo:][:k.c]
				ws, wl, wh := p.start[1][j], p.tapLo[1][j], p.tapHi[1][j]
				clear(acc)
				for a := hl; a < hh; a++ {
					row := ((img*h + hs + a*p.d[0]) * w) * st
					for b := wl; b < wh; b++ {
						src := xd[row+(ws+b*p.d[1])*st:][:k.c]
						for c, v := range src {
							acc[c] += float64(v)
						}
					}
				}
				div := max(0, hh-hl) * max(0, wh-wl)
				if k.pool.includePad {
					div = p.paddedTaps[0][i] * p.paddedTaps[1][j]
				}
				for c, v := range acc {
					if div > 0 {
						dst[c] = float32(v / float64(div))
					} else {
						dst[c] = 0
					}
				}
				if k.out == nil {
					clear(yd[((img*oh+i)*ow+j)*so+k.c : ((img*oh+i)*ow+j+1)*so])
				}
			}
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: yd}}, nil
}

// tensorCopyKernel is a zero Pad of a channels-last tensor: a copy of its
// first input (the generic Pad kernel walks it index by index).
type tensorCopyKernel struct{}

func (tensorCopyKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) == 0 || in[0] == nil || in[0].DType != graph.Float32 {
		return nil, fmt.Errorf("channels-last zero Pad: want a float32 input")
	}
	x := in[0].F32()
	y := ctx.AllocF32(len(x))
	parallelFor(ctx.Threads, len(x), func(lo, hi int) { copy(y[lo:hi], x[lo:hi]) })
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), in[0].Shape...), Data: y}}, nil
}
