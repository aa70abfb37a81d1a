package runtime

// Per-channel Min and Max of a constant inside the channels-last chains:
// torch.min(x, hi) / torch.max(x, lo) with [C, 1, 1] parameters (learned
// clipping bounds, hardtanh_op9/op12 of the unseen set 9). Left NCHW they cut
// the chain: the Conv before wrote NCHW and the Conv after laid its input
// out again (or ran as an NCHW GEMM). Here they keep their input's layout,
// like a BatchNormalization, and apply the bound along each pixel's channels
// with Min and Max's own NaN rule (op_binary.go), so the results are the
// same bits as the broadcasting kernel's.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// channelMinMax returns the per-channel bound of a step Min(x, c) or
// Max(x, c), x a rank-4 float32 tensor of c channels (input 0, the layout
// input of a same-layout step) and c a float32 constant that varies along the
// channel axis only; nil when the step is not one.
func (s *Session) channelMinMax(st step, c int) (bound []float32, isMax bool) {
	if !isOp(st.node, "Min") && !isOp(st.node, "Max") || len(st.in) != 2 || len(st.out) != 1 ||
		st.in[0] < 0 || st.in[1] < 0 || st.out[0] < 0 || c == 0 || s.consts[st.in[0]] != nil {
		return nil, false
	}
	k := s.consts[st.in[1]]
	if k == nil || k.DType != graph.Float32 {
		return nil, false
	}
	xs, os := s.staticDims(st.node.Inputs[0]), s.staticDims(st.node.Outputs[0])
	if len(xs) != 4 || !slices.Equal(xs, os) {
		return nil, false
	}
	bound, ok := channelVector(k, c)
	if !ok {
		return nil, false
	}
	return bound, st.node.OpType == "Max"
}

// channelMinMaxOf reports whether a step is such a Min or Max.
func (s *Session) channelMinMaxOf(st step, channels func(int) int) bool {
	b, _ := s.channelMinMax(st, channels(st.in[0]))
	return b != nil
}

// nhwcChannelMinMaxKernel is Min(x, bound) or Max(x, bound) per channel of a
// channels-last x; the padding channels of the pixel stride are zero.
type nhwcChannelMinMaxKernel struct {
	bound []float32
	isMax bool
	zero  bool // a bound is ±0 or NaN: the exact scalar rule
}

func newNHWCChannelMinMaxKernel(bound []float32, isMax bool) *nhwcChannelMinMaxKernel {
	k := &nhwcChannelMinMaxKernel{bound: bound, isMax: isMax}
	for _, b := range bound {
		k.zero = k.zero || b == 0 || b != b
	}
	return k
}

func (k *nhwcChannelMinMaxKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, st, err := channelsLastInput(in[:min(len(in), 1)], len(k.bound))
	if err != nil {
		return nil, fmt.Errorf("channels-last per-channel Min/Max: %w", err)
	}
	xd := x.F32()
	y := ctx.AllocF32(len(xd))
	c := len(k.bound)
	pixels := len(xd) / max(st, 1)
	th := memPassThreads(ctx.Threads, len(xd))
	parallelForGrain(th, pixels, 64, func(p0, p1 int) {
		for p := p0; p < p1; p++ {
			xs, ys := xd[p*st:p*st+c], y[p*st:(p+1)*st]
			switch {
			case k.zero:
				// Min and Max of op_binary.go: x when x is NaN or beyond b
				// (the builtins differ on the sign of a zero result).
				for i, v := range xs {
					b := k.bound[i]
					if v != v || (k.isMax && v > b) || (!k.isMax && v < b) {
						ys[i] = v
					} else {
						ys[i] = b
					}
				}
			case k.isMax:
				// With no zero bound, the builtin is op_binary.go's Max (a NaN x propagates).
				for i, v := range xs {
					ys[i] = max(v, k.bound[i])
				}
			default:
				for i, v := range xs {
					ys[i] = min(v, k.bound[i])
				}
			}
			clear(ys[c:])
		}
	})
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}
