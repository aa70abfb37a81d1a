package runtime

// A float32 depthwise 3-D Conv (X3D's and S3D's channel-wise 3x3x3 layers)
// on the 2-D depthwise kernel, by the width interleaving of the int8 one
// (op_int8_dwconv3d.go): output slice z reads the channels-last image
// [H, W·kd, C] whose pixel (y, x·kd + j) is pixel (y, x) of plane
// z·sd − pf + j·dd (zeros in the depth padding), and tap (kt, ki, kj) is tap
// (ki, kj·kd + kt) of a kh × kw·kd window of width stride sw·kd. The NCDHW
// path's im2col took 8.9 ms for x3d_dw's first depthwise layer (eighteenth
// session). The input is NCDHW and so is the output here: the layers still
// sit between NCDHW operators.

import (
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
