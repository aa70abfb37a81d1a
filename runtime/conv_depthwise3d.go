package runtime

// A float32 depthwise 3-D Conv (X3D's and S3D's channel-wise 3x3x3 layers)
// on the 2-D depthwise kernel, by the width interleaving of the int8 one
// (op_int8_dwconv3d.go): output slice z reads the channels-last image
// [H, W·kd, C] whose pixel (y, x·kd + j) is pixel (y, x) of plane
// z·sd − pf + j·dd (zeros in the depth padding), and tap (kt, ki, kj) is tap
// (ki, kj·kd + kt) of a kh × kw·kd window of width stride sw·kd. The NCDHW
// path's im2col took 8.9 ms for x3d_dw's first depthwise layer (eighteenth
// session). This form runs where the channels-last 3-D pass (layout_3d.go)
// is off; there a depthwise 3-D Conv is a dw3DRowsKernel below, which reads
// and writes either layout on kernels.Depthwise3DF32 (no interleaving: one
// zero-padded copy of the input volume, the 3-D taps as offsets into it).

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// depthwise3DF32 convolves x [N, C, D, H, W] with depthwise weights w
// [OC, 1, kd, kh, kw]; ok is false when the convolution is not one it runs
// (not depthwise, one depth tap, a width dilation).
func depthwise3DF32(ctx *ExecContext, x, w, bias *graph.Tensor, geom *graph.ConvGeom, outShape []int, group int) (*graph.Tensor, bool) {
	if len(x.Shape) != 5 || len(w.Shape) != 5 || len(geom.Out) != 3 || x.DType != graph.Float32 || w.DType != graph.Float32 {
		return nil, false
	}
	n, c, d, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], x.Shape[4]
	oc, kd, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3], w.Shape[4]
	if group != c || w.Shape[1] != 1 || kd < 2 || oc%c != 0 || geom.Dilations[2] != 1 || n*c*d*h*wd == 0 {
		return nil, false
	}
	var bd []float32
	if bias != nil {
		if bias.DType != graph.Float32 {
			return nil, false
		}
		bd = bias.F32()
	}
	od, oh, ow := geom.Out[0], geom.Out[1], geom.Out[2]
	if od <= 0 || oh <= 0 || ow <= 0 {
		return nil, false
	}
	wf := w.F32()
	w2 := make([]float32, len(wf))
	for o := 0; o < oc; o++ {
		for kt := 0; kt < kd; kt++ {
			for ki := 0; ki < kh; ki++ {
				for kj := 0; kj < kw; kj++ {
					w2[((o*kh+ki)*kw+kj)*kd+kt] = wf[((o*kd+kt)*kh+ki)*kw+kj]
				}
			}
		}
	}
	pw := kernels.PackDWF32(oc, oc/c, kh, kw*kd, w2, bd)
	sd, dd, pf := geom.Strides[0], geom.Dilations[0], geom.Pads[0]
	plane := h * wd
	xd := x.F32()
	inter := make([]float32, n*od*plane*kd*c)
	qtensor.ParallelChunks(n*od, ctx.Threads, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, z := r/od, r%od
			dst := inter[r*plane*kd*c : (r+1)*plane*kd*c]
			for j := 0; j < kd; j++ {
				iz := z*sd - pf + j*dd
				if iz < 0 || iz >= d {
					continue // zeros
				}
				for ci := 0; ci < c; ci++ {
					src := xd[((img*c+ci)*d+iz)*plane:][:plane]
					for p, v := range src {
						dst[(p*kd+j)*c+ci] = v
					}
				}
			}
		}
	})
	s := kernels.ConvShape{N: n * od, H: h, W: wd * kd, C: c, OC: oc, KH: kh, KW: kw * kd,
		StrideH: geom.Strides[1], StrideW: geom.Strides[2] * kd, DilH: geom.Dilations[1], DilW: 1,
		PadTop: geom.Pads[1], PadLeft: geom.Pads[2] * kd, PadBottom: geom.Pads[4], PadRight: geom.Pads[5] * kd, Groups: c}
	y := make([]float32, n*od*oh*ow*oc)
	kernels.DepthwiseF32(s, pw, inter, c, y, oc, kernels.NoEpilogue, ctx.Threads)
	out := graph.NewTensor(graph.Float32, outShape)
	of := out.F32()
	vol := od * oh * ow
	qtensor.ParallelChunks(n*oc, ctx.Threads, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, o := r/oc, r%oc
			dst := of[r*vol : (r+1)*vol]
			src := y[img*vol*oc:]
			for q := range dst {
				dst[q] = src[q*oc+o]
			}
		}
	})
	return out, true
}

// depthwise3DWeights returns the constant weights and bias of a step's Conv
// when it is a float32 depthwise 3-D Conv that dw3DRowsKernel runs, or nil.
func (s *Session) depthwise3DWeights(st step, ck *convKernel) (w, b *graph.Tensor) {
	if len(st.out) != 1 {
		return nil, nil
	}
	return s.depthwiseConsts(st, ck, 5)
}

// dw3DFusable reports whether a Conv step is a depthwise 3-D Conv whose clamp
// and activation fuseConvEpilogues may fold in (the channels-last pass runs it
// on dw3DRowsKernel, which applies them).
func (s *Session) dw3DFusable(st step, ck *convKernel) bool {
	w, _ := s.depthwise3DWeights(st, ck)
	return w != nil && channelsLastMode
}

// dw3DRowsKernel is a float32 depthwise 3-D Conv (with the clamp and
// activation of a fusedConvKernel, if any) on kernels.Depthwise3DF32: its
// input and output NCDHW or channels-last [N, D, H, W, S].
type dw3DRowsKernel struct {
	conv            *convKernel
	nConvIn         int
	w, b            *graph.Tensor
	pw              *kernels.DWWeightsF32
	c, m            int
	ep              kernels.F32Epilogue
	inNHWC, outNHWC bool
}

func newDW3DRowsKernel(ck *convKernel, fk *fusedConvKernel, w, b *graph.Tensor, nConvIn int, inNHWC, outNHWC bool) *dw3DRowsKernel {
	m, kd, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3], w.Shape[4]
	var bd []float32
	if b != nil {
		bd = b.F32()
	}
	k := &dw3DRowsKernel{conv: ck, nConvIn: nConvIn, w: w, b: b, c: ck.group, m: m, inNHWC: inNHWC, outNHWC: outNHWC,
		pw: kernels.PackDWF32(m, m/ck.group, kd*kh, kw, w.F32(), bd), ep: kernels.NoEpilogue}
	if fk != nil {
		if fk.act != nil {
			k.ep.Lo, k.ep.Hi = fk.lo, fk.hi
		}
		k.ep.Act = fk.post
	}
	return k
}

func (k *dw3DRowsKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < k.nConvIn {
		return nil, fmt.Errorf("depthwise 3-D Conv: got %d inputs", len(in))
	}
	x, w, b := in[0], in[1], optInput(in[:k.nConvIn], 2)
	if w != k.w || b != k.b || x == nil || x.DType != graph.Float32 {
		return nil, fmt.Errorf("depthwise 3-D Conv: inputs are not the planned ones")
	}
	n, d, h, wd, sx, err := conv3dInputDims(x, k.c, k.inNHWC)
	if err != nil {
		return nil, fmt.Errorf("depthwise 3-D Conv: %w", err)
	}
	hdr := &graph.Tensor{DType: graph.Float32, Shape: []int{n, k.c, d, h, wd}}
	geom, outShape, err := k.conv.shapes(hdr, w, b, k.c, false)
	if err != nil {
		return nil, err
	}
	if len(geom.Kernel) != 3 {
		return nil, fmt.Errorf("depthwise 3-D Conv: %d spatial axes, want 3", len(geom.Kernel))
	}
	cs := kernels.Conv3DShape{N: n, D: d, H: h, W: wd, C: k.c, OC: k.m, KD: geom.Kernel[0], KH: geom.Kernel[1], KW: geom.Kernel[2],
		StrideD: geom.Strides[0], StrideH: geom.Strides[1], StrideW: geom.Strides[2],
		PadFront: geom.PadBegin(0), PadTop: geom.PadBegin(1), PadLeft: geom.PadBegin(2),
		PadBack: geom.PadEnd(0), PadBottom: geom.PadEnd(1), PadRight: geom.PadEnd(2),
		DilD: geom.Dilations[0], DilH: geom.Dilations[1], DilW: geom.Dilations[2], Groups: k.c}
	od, oh, ow := outShape[2], outShape[3], outShape[4]
	so := pixelStride(k.m)
	if n*od*oh*ow == 0 {
		if k.outNHWC {
			return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, od, oh, ow, so}, Data: []float32{}}}, nil
		}
		return []*graph.Tensor{graph.NewTensor(graph.Float32, outShape)}, nil
	}
	if zd, zh, zw := cs.Out(); zd != od || zh != oh || zw != ow || cs.Validate() != nil {
		return nil, fmt.Errorf("depthwise 3-D Conv: output %dx%dx%d, geometry gives %dx%dx%d", od, oh, ow, zd, zh, zw)
	}
	if k.outNHWC {
		y := ctx.AllocF32(n * od * oh * ow * so)
		kernels.Depthwise3DF32(cs, k.pw, x.F32(), sx, y, so, k.ep, ctx.Threads, true)
		return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, od, oh, ow, so}, Data: y}}, nil
	}
	tmp := getF32(n * od * oh * ow * k.m)
	defer putF32(tmp)
	kernels.Depthwise3DF32(cs, k.pw, x.F32(), sx, *tmp, k.m, k.ep, ctx.Threads, false)
	y := &graph.Tensor{DType: graph.Float32, Shape: outShape, Data: ctx.AllocF32(graph.NumElements(outShape))}
	nhwcToNCHWF32(*tmp, k.m, y.F32(), n, k.m, od*oh*ow, ctx.Threads)
	return []*graph.Tensor{y}, nil
}
