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
	// nchwOut: writes NCHW (layout_pool_nchw.go)
	nchwOut bool
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
	th := min(ctx.Threads, max(1, g.n*g.oh*g.ow*k.c*g.p.kSizeHint()/parallelMinWork))
	poolRowsNHWC(g, k.c, false, k.pool.includePad, th) // pool_rows.go
	if k.nchwOut {
		return []*graph.Tensor{poolOutNCHW(ctx, g, k.c)}, nil
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{g.n, g.oh, g.ow, g.so}, Data: g.yd}}, nil
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
