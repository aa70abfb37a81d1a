package runtime

// Channels-last chains through the layout Transposes of transformer-style
// convolutional blocks. ConvNeXt (and any block written as "convolution →
// Transpose to [N, H, W, C] → LayerNorm / Linear layers → Transpose back →
// per-channel scale → residual Add") moved its whole feature map through two
// copying Transposes per block, and the convolution before the first one
// converted its NCHW input to channels-last and back on the way. Inside the
// channels-last chains the two Transposes are relabellings of the same
// memory: a channels-last [N, C, H, W] tensor whose pixel stride is C is
// stored exactly as the [N, H, W, C] tensor the first Transpose produces, and
// the second Transpose's [N, H, W, C] input is stored as the channels-last
// form of its [N, C, H, W] output.
//
// The layout pass (layout_float.go) gives them roles:
//   - roleToNHWC, Transpose(perm 0,2,3,1): reads a channels-last input as a
//     view; its output is an ordinary [N, H, W, C] tensor.
//   - roleFromNHWC, Transpose(perm 0,3,1,2): writes its output channels-last
//     as a view of its ordinary [N, H, W, C] input.
//   - roleAffine, Mul or Add (or Sub x − c) of x and a constant varying only
//     along the channel axis (a layer scale [C, 1, 1], a per-channel bias, a
//     scalar): a per-channel affine transform along each pixel's channels.
//   - roleBinary, Add/Sub/Mul/Div of two tensors of the same static shape (no
//     broadcasting): the elementwise kernel runs unchanged when both inputs
//     and the output have the same layout.
// Both views need a pixel stride equal to the channel count (pixelStride: C
// a multiple of 16 but not of 512, or C ≤ 16); other Transposes keep their
// copying kernel.

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
)

// permOf returns a Transpose step's permutation for a rank-4 input, or nil.
func (s *Session) permOf(st step) []int {
	if !isOp(st.node, "Transpose") || len(st.in) != 1 || len(st.out) != 1 || st.in[0] < 0 || st.out[0] < 0 {
		return nil
	}
	v := s.model.Graph.Values[st.node.Inputs[0]]
	if v == nil || !v.HasShape || len(v.Shape) != 4 || v.DType != graph.Float32 {
		return nil
	}
	p, err := graph.TransposePerm(st.node, 4)
	if err != nil {
		return nil
	}
	return p
}

// staticDims returns the concrete shape of a step's value, or nil.
func (s *Session) staticDims(name string) []int {
	v := s.model.Graph.Values[name]
	if v == nil || !v.HasShape || v.DType != graph.Float32 {
		return nil
	}
	d, ok := v.Shape.Concrete()
	if !ok {
		return nil
	}
	return d
}

// transposeRole classifies the steps of this file; xi is the input that
// carries the layout for roleAffine.
func (s *Session) transposeRole(st step, channels func(int) int) (r layoutRole, xi int, a, b []float32) {
	if p := s.permOf(st); p != nil {
		switch {
		case slices.Equal(p, []int{0, 2, 3, 1}):
			if c := channels(st.in[0]); c > 0 && pixelStride(c) == c {
				return roleToNHWC, 0, nil, nil
			}
		case slices.Equal(p, []int{0, 3, 1, 2}):
			if c := channels(st.out[0]); c > 0 && pixelStride(c) == c {
				return roleFromNHWC, 0, nil, nil
			}
		}
		return roleNone, 0, nil, nil
	}
	if xi, a, b := s.channelAffine(st, channels); a != nil {
		return roleAffine, xi, a, b
	}
	if s.sameShapeBinary(st, channels) {
		return roleBinary, 0, nil, nil
	}
	return roleNone, 0, nil, nil
}

// channelAffine recognises y = a·x + b per channel: Mul(x, c), Mul(c, x),
// Add(x, c), Add(c, x) or Sub(x, c) with x a rank-4 float32 tensor and c a
// float32 constant that broadcasts along the channel axis only. It returns
// the index of x and a, b of x's channel count, or nil a.
func (s *Session) channelAffine(st step, channels func(int) int) (int, []float32, []float32) {
	if k, ok := st.kernel.(*affineChainKernel); ok {
		a, b := s.chainChannelAffine(st, k, channels)
		return 0, a, b
	}
	op := st.node.OpType
	if (op != "Mul" && op != "Add" && op != "Sub") || (st.node.Domain != "" && st.node.Domain != "ai.onnx") ||
		len(st.in) != 2 || len(st.out) != 1 || st.in[0] < 0 || st.in[1] < 0 || st.out[0] < 0 {
		return 0, nil, nil
	}
	for xi := 0; xi < 2; xi++ {
		if op == "Sub" && xi == 1 {
			break
		}
		x, k := st.in[xi], s.consts[st.in[1-xi]]
		c := channels(x)
		if c == 0 || k == nil || k.DType != graph.Float32 || s.consts[x] != nil {
			continue
		}
		xs, os := s.staticDims(st.node.Inputs[xi]), s.staticDims(st.node.Outputs[0])
		if xs == nil || !slices.Equal(xs, os) {
			continue
		}
		per, ok := channelVector(k, c)
		if !ok {
			continue
		}
		a, b := make([]float32, c), make([]float32, c)
		for i := range a {
			switch op {
			case "Mul":
				a[i] = per[i]
			case "Add":
				a[i], b[i] = 1, per[i]
			case "Sub":
				a[i], b[i] = 1, -per[i]
			}
		}
		return xi, a, b
	}
	return 0, nil, nil
}

// chainChannelAffine is channelAffine for a fused affine chain
// (fuse_affine.go) of a rank-4 float32 tensor whose constants are scalars or
// vary along the channel axis: its a and b, expanded to the channel count.
func (s *Session) chainChannelAffine(st step, k *affineChainKernel, channels func(int) int) ([]float32, []float32) {
	if k.cast != nil || len(st.in) != 1 || len(st.out) != 1 || st.in[0] < 0 || st.out[0] < 0 || s.consts[st.in[0]] != nil {
		return nil, nil
	}
	c := channels(st.in[0])
	xs, os := s.staticDims(s.nameOf(st.in[0])), s.staticDims(st.node.Outputs[0])
	if c == 0 || xs == nil || len(xs) != 4 || !slices.Equal(xs, os) || k.constRank > 4 || k.fromEnd >= 0 && (k.fromEnd != 2 || len(k.a) != c) {
		return nil, nil
	}
	a, b := make([]float32, c), make([]float32, c)
	for i := range a {
		j := i
		if len(k.a) == 1 {
			j = 0
		}
		a[i], b[i] = k.a[j], k.b[j]
	}
	return a, b
}

// channelVector expands a constant that broadcasts against [N, C, H, W] along
// the channel axis only (shapes [], [1], [C, 1, 1], [1, C, 1, 1], ...) to C
// values.
func channelVector(k *graph.Tensor, c int) ([]float32, bool) {
	sh := k.Shape
	if len(sh) > 4 {
		return nil, false
	}
	chAxis := -1 // the constant's axis aligned with the channels, if any
	if len(sh) >= 3 {
		chAxis = len(sh) - 3
	}
	for i, d := range sh {
		if d != 1 && !(i == chAxis && d == c) {
			return nil, false
		}
	}
	v := k.F32()
	out := make([]float32, c)
	for i := range out {
		if len(v) == 1 {
			out[i] = v[0]
		} else {
			out[i] = v[i]
		}
	}
	return out, true
}

// sameShapeBinary reports whether a step is Add/Sub/Mul/Div of two computed
// rank-4 float32 tensors of one static shape.
func (s *Session) sameShapeBinary(st step, channels func(int) int) bool {
	switch st.node.OpType {
	case "Add", "Sub", "Mul", "Div":
	default:
		return false
	}
	if (st.node.Domain != "" && st.node.Domain != "ai.onnx") || len(st.in) != 2 || len(st.out) != 1 || st.in[0] < 0 || st.in[1] < 0 || st.out[0] < 0 ||
		s.consts[st.in[0]] != nil || s.consts[st.in[1]] != nil || channels(st.in[0]) == 0 {
		return false
	}
	a, b, o := s.staticDims(st.node.Inputs[0]), s.staticDims(st.node.Inputs[1]), s.staticDims(st.node.Outputs[0])
	return a != nil && slices.Equal(a, b) && slices.Equal(a, o)
}

// transposeLayoutKernel returns the kernel of a step of this file's roles
// given the layout the pass chose for its tensors (nil: keep the step's own
// kernel).
func transposeLayoutKernel(role layoutRole, st step, xi int, a, b []float32, nhwc map[int]bool, channels func(int) int) Kernel {
	switch role {
	case roleToNHWC:
		if nhwc[st.in[0]] {
			return nhwcViewKernel{c: channels(st.in[0]), toNHWC: true}
		}
	case roleFromNHWC:
		if nhwc[st.out[0]] {
			return nhwcViewKernel{c: channels(st.out[0])}
		}
	case roleAffine:
		if nhwc[st.in[xi]] {
			return &nhwcAffineKernel{bn: newNHWCBatchNormKernel(a, b, false), xIdx: xi}
		}
	}
	// roleBinary: the elementwise kernel runs as is on either layout.
	return nil
}

// nhwcViewKernel is a layout Transpose inside a channels-last chain: the
// output shares the input's memory. toNHWC: channels-last [N, C, H, W] in,
// [N, H, W, C] out; otherwise [N, H, W, C] in, channels-last [N, C, H, W] out.
// Both are stored as [N, H, W, C].
type nhwcViewKernel struct {
	c      int
	toNHWC bool
}

func (k nhwcViewKernel) Run(_ *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType != graph.Float32 || len(x.Shape) != 4 || x.Shape[3] != k.c || pixelStride(k.c) != k.c {
		return nil, fmt.Errorf("channels-last Transpose view: input %v, want float32 [N, H, W, %d]", x.Shape, k.c)
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: slices.Clone(x.Shape), Data: x.Data}}, nil
}

// nhwcAffineKernel is a per-channel Mul/Add/Sub by a constant of a
// channels-last input x = in[xIdx] (applied as a 1×1 depthwise convolution).
type nhwcAffineKernel struct {
	bn   *nhwcBatchNormKernel
	xIdx int
}

func (k *nhwcAffineKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, k.xIdx+1); err != nil { // a fused chain (fuse_affine.go) has one input
		return nil, err
	}
	return k.bn.Run(ctx, in[k.xIdx:k.xIdx+1])
}
