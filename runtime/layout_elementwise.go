package runtime

// Per-channel and elementwise steps inside the channels-last chains:
// DenseNet's pre-activation layers (Concat → BatchNormalization → Relu →
// Conv) and unfused activations between convolutions. Left NCHW, each of them
// cut the chain: the Concat before wrote NCHW and the convolution after laid
// its input out channels-last again.
//
// An elementwise unary operator does not care about the layout: its kernel
// runs unchanged on the channels-last tensor (the padding channels of the
// pixel stride, unused, go through it too). A BatchNormalization with
// constant parameters becomes nhwcBatchNormKernel, the folded per-channel
// affine transform applied along each pixel's channels. Both keep their
// input's layout, as a MaxPool does.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// layoutFreeUnary are the elementwise unary operators (buildUnary) whose
// kernel runs on a channels-last tensor as is.
var layoutFreeUnary = map[string]bool{"Relu": true, "Sigmoid": true, "Tanh": true, "LeakyRelu": true,
	"HardSigmoid": true, "HardSwish": true, "Elu": true, "Celu": true, "Selu": true, "Softplus": true}

// channelsLastUnary reports whether a step is such an operator on one tensor.
func channelsLastUnary(st step) bool {
	return layoutFreeUnary[st.node.OpType] && (st.node.Domain == "" || st.node.Domain == "ai.onnx") &&
		len(st.in) == 1 && len(st.out) == 1 && st.out[0] >= 0
}

// channelsLastClip reports whether a step is a Clip with constant scalar
// float32 bounds (attributes before opset 11, inputs after; either may be
// absent): elementwise like a Relu, so it keeps the chain channels-last
// instead of cutting it (a ReLU6 or Hardtanh whose producer is not a fusable
// Conv, or whose Conv output has other readers).
func (s *Session) channelsLastClip(st step) bool {
	if !isOp(st.node, "Clip") || len(st.out) != 1 || st.out[0] < 0 {
		return false
	}
	_, _, _, ok := s.clampOf(st, s.model.Opset())
	return ok
}

// channelsLastBatchNorm returns the folded inference BatchNormalization of a
// step over c channels, or nil.
func channelsLastBatchNorm(st step, c int) *batchNormKernel {
	k, ok := st.kernel.(*batchNormKernel)
	if !ok || k.training || !k.spatial || len(k.a) != c || len(k.b) != c || len(st.out) != 1 || st.out[0] < 0 {
		return nil
	}
	return k
}

// nhwcBatchNormKernel is an inference BatchNormalization (y = a·x + b per
// channel) of a channels-last tensor, then max(y, 0) when relu (the Relu
// that was its sole reader: foldChannelsLastRelu).
type nhwcBatchNormKernel struct {
	a, b []float32
	relu bool
	// pw holds a and b as the weights and bias of a 1×1 depthwise
	// convolution: kernels.DepthwiseF32 applies them (and the Relu as its
	// clamp) with the vector kernels.
	pw *kernels.DWWeightsF32
}

func newNHWCBatchNormKernel(a, b []float32, relu bool) *nhwcBatchNormKernel {
	return &nhwcBatchNormKernel{a: a, b: b, relu: relu, pw: kernels.PackDWF32(len(a), 1, 1, 1, a, b)}
}

// foldChannelsLastRelu merges each Relu into the channels-last
// BatchNormalization it is the only reader of (DenseNet's BN → Relu pairs):
// one pass over the feature map instead of two. It runs at the end of the
// layout pass, before buffer lifetimes.
func (s *Session) foldChannelsLastRelu() {
	readers := map[int]int{}
	for _, st := range s.steps {
		for _, id := range st.in {
			if id >= 0 {
				readers[id]++
			}
		}
	}
	producer := map[int]int{}
	for i, st := range s.steps {
		if _, ok := st.kernel.(*nhwcBatchNormKernel); ok && !s.keep[st.out[0]] && readers[st.out[0]] == 1 {
			producer[st.out[0]] = i
		}
	}
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		if !isOp(st.node, "Relu") || len(st.in) != 1 || len(st.out) != 1 {
			continue
		}
		i, ok := producer[st.in[0]]
		if !ok {
			continue
		}
		bn := s.steps[i].kernel.(*nhwcBatchNormKernel)
		s.steps[i].kernel = newNHWCBatchNormKernel(bn.a, bn.b, true)
		s.steps[i].out = []int{st.out[0]}
		removed[j] = true
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}

func (k *nhwcBatchNormKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("channels-last BatchNormalization: no input")
	}
	x, st, err := channelsLastInput(in[:1], len(k.a))
	if err != nil {
		return nil, fmt.Errorf("channels-last BatchNormalization: %w", err)
	}
	xd := x.F32()
	y := ctx.AllocF32(len(xd))
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	c := len(k.a)
	ep := kernels.NoEpilogue
	if k.relu {
		ep.Lo = 0
	}
	cs := kernels.ConvShape{N: n, H: h, W: w, C: c, OC: c, KH: 1, KW: 1, Groups: c}
	kernels.DepthwiseF32(cs, k.pw, xd, st, y, st, ep, ctx.Threads)
	if st > c {
		for p := 0; p < n*h*w; p++ {
			clear(y[p*st+c : (p+1)*st])
		}
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: append([]int(nil), x.Shape...), Data: y}}, nil
}
