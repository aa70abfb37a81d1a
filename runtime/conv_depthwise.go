package runtime

// Depthwise float32 convolutions (group == input channels, the 3x3/5x5/7x7
// layers of MobileNet, EfficientNet and ConvNeXt). The NCHW executor runs a
// grouped Conv as one tiny GEMM per channel; here it is kernels.DepthwiseF32 on
// channels-last data (NCHW input and output are converted on the way), with
// the clamp and the activation of a fused epilogue (fuse.go, fuse_act.go)
// applied as each output row is stored. The layout pass (layout_float.go)
// puts every depthwise Conv with constant weights on this kernel.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// depthwiseWeights returns the constant weights and bias of a step's 2-D
// depthwise float32 Conv (group == input channels == W.shape[0] / multiplier,
// W of shape [OC, 1, KH, KW]), or nil.
func (s *Session) depthwiseWeights(st step, ck *convKernel) (w, b *graph.Tensor) {
	return s.depthwiseConsts(st, ck, 4)
}

// depthwiseConsts is depthwiseWeights for an input and weights of the given
// rank (4 for 2-D, 5 for 3-D convolutions).
func (s *Session) depthwiseConsts(st step, ck *convKernel, rank int) (w, b *graph.Tensor) {
	if ck.group <= 1 || len(st.in) < 2 || st.in[1] < 0 {
		return nil, nil
	}
	w = s.consts[st.in[1]]
	if w == nil || w.DType != graph.Float32 || len(w.Shape) != rank || w.Shape[1] != 1 || w.Shape[0]%ck.group != 0 ||
		graph.NumElements(w.Shape) == 0 || checkTensor("input W", w) != nil {
		return nil, nil
	}
	if len(st.in) > 2 && len(ck.node.Inputs) > 2 && ck.node.Inputs[2] != "" {
		if st.in[2] < 0 {
			return nil, nil
		}
		b = s.consts[st.in[2]]
		if b == nil || b.DType != graph.Float32 || len(b.Shape) != 1 || b.Shape[0] != w.Shape[0] || checkTensor("input B", b) != nil {
			return nil, nil
		}
	}
	x := s.model.Graph.Values[s.nameOf(st.in[0])]
	if x == nil || !x.HasShape || len(x.Shape) != rank || x.DType != graph.Float32 || x.Shape[1].Size != ck.group {
		return nil, nil
	}
	return w, b
}

// nameOf is the tensor name of a slot.
func (s *Session) nameOf(id int) string {
	for name, i := range s.slots {
		if i == id {
			return name
		}
	}
	return ""
}

// dwRowsKernel is a depthwise Conv (with the clamp and activation of a
// fusedConvKernel, if any) on kernels.DepthwiseF32.
type dwRowsKernel struct {
	conv            *convKernel
	nConvIn         int
	w, b            *graph.Tensor
	pw              *kernels.DWWeightsF32
	c, m            int
	ep              kernels.F32Epilogue
	inNHWC, outNHWC bool
}

func newDWRowsKernel(ck *convKernel, fk *fusedConvKernel, w, b *graph.Tensor, nConvIn int, inNHWC, outNHWC bool) *dwRowsKernel {
	m, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	var bd []float32
	if b != nil {
		bd = b.F32()
	}
	k := &dwRowsKernel{conv: ck, nConvIn: nConvIn, w: w, b: b, c: ck.group, m: m, inNHWC: inNHWC, outNHWC: outNHWC,
		pw: kernels.PackDWF32(m, m/ck.group, kh, kw, w.F32(), bd), ep: kernels.NoEpilogue}
	if fk != nil {
		if fk.act != nil {
			k.ep.Lo, k.ep.Hi = fk.lo, fk.hi
		}
		k.ep.Act = fk.post
	}
	return k
}

func (k *dwRowsKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, cs, outShape, sx, err := k.geometry(in)
	if err != nil {
		return nil, err
	}
	n, oh, ow := cs.N, outShape[2], outShape[3]
	so := pixelStride(k.m)
	if n*oh*ow == 0 {
		return emptyConvOutput(k.outNHWC, n, oh, ow, so, outShape), nil
	}
	if k.outNHWC {
		y := ctx.AllocF32(n * oh * ow * so)
		kernels.DepthwiseF32Padded(cs, k.pw, x.F32(), sx, y, so, k.ep, ctx.Threads)
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, oh, ow, so}, Data: y}}, nil
	}
	tmp := getF32(n * oh * ow * k.m)
	defer putF32(tmp)
	kernels.DepthwiseF32(cs, k.pw, x.F32(), sx, *tmp, k.m, k.ep, ctx.Threads)
	y := &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
	nhwcToNCHWF32(*tmp, k.m, y.F32(), n, k.m, oh*ow, ctx.Threads)
	return []*graph.Tensor{y}, nil
}

// geometry checks a step's inputs and returns the input, the convolution's
// shape, its NCHW output shape and the input's pixel stride (0 for NCHW).
func (k *dwRowsKernel) geometry(in []*graph.Tensor) (x *graph.Tensor, cs kernels.ConvShape, outShape []int, sx int, err error) {
	if len(in) < k.nConvIn {
		return nil, cs, nil, 0, fmt.Errorf("depthwise Conv: got %d inputs", len(in))
	}
	x, w, b := in[0], in[1], optInput(in[:k.nConvIn], 2)
	if w != k.w || b != k.b || x == nil || x.DType != graph.Float32 || len(x.Shape) != 4 {
		return nil, cs, nil, 0, fmt.Errorf("depthwise Conv: inputs are not the planned ones")
	}
	n, h, wd, sx, err := convInputDims(x, k.c, k.inNHWC)
	if err != nil {
		return nil, cs, nil, 0, err
	}
	hdr := &graph.Tensor{DType: graph.Float32, Shape: []int{n, k.c, h, wd}}
	geom, outShape, err := k.conv.shapes(hdr, w, b, k.c, false)
	if err != nil {
		return nil, cs, nil, 0, err
	}
	if len(geom.Kernel) != 2 {
		return nil, cs, nil, 0, fmt.Errorf("depthwise Conv: %d spatial axes, want 2", len(geom.Kernel))
	}
	cs = kernels.ConvShape{N: n, H: h, W: wd, C: k.c, OC: k.m, KH: geom.Kernel[0], KW: geom.Kernel[1],
		StrideH: geom.Strides[0], StrideW: geom.Strides[1], DilH: geom.Dilations[0], DilW: geom.Dilations[1],
		PadTop: geom.PadBegin(0), PadLeft: geom.PadBegin(1), PadBottom: geom.PadEnd(0), PadRight: geom.PadEnd(1), Groups: k.c}
	if cs.OutH() != outShape[2] || cs.OutW() != outShape[3] {
		return nil, cs, nil, 0, fmt.Errorf("depthwise Conv: output %dx%d, geometry gives %dx%d", outShape[2], outShape[3], cs.OutH(), cs.OutW())
	}
	return x, cs, outShape, sx, nil
}

// nhwcToNCHWF32 transposes n images of plane pixels (stride st) of c channels.
func nhwcToNCHWF32(src []float32, st int, dst []float32, n, c, plane, threads int) {
	nnParallel(min(threads, max(1, n*c*plane/parallelMinWork)), n*c, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			img, ch := i/c, i%c
			d := dst[i*plane : (i+1)*plane]
			s := src[img*plane*st+ch:]
			for j := range d {
				d[j] = s[j*st]
			}
		}
	})
}

// convInputDims returns the batch, height, width and pixel stride (0 for NCHW)
// of a 4-D float32 Conv input of c channels, channels-last when nhwc.
func convInputDims(x *graph.Tensor, c int, nhwc bool) (n, h, w, sx int, err error) {
	if !nhwc {
		if x.Shape[1] != c {
			return 0, 0, 0, 0, fmt.Errorf("input X %v has %d channels, weights %d", x.Shape, x.Shape[1], c)
		}
		return x.Shape[0], x.Shape[2], x.Shape[3], 0, nil
	}
	if x.Shape[3] != pixelStride(c) {
		return 0, 0, 0, 0, fmt.Errorf("channels-last input %v: stride %d, want %d for %d channels", x.Shape, x.Shape[3], pixelStride(c), c)
	}
	return x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], nil
}
