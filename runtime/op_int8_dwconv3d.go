package runtime

// The int8 depthwise 3-D Conv (eighteenth session: X3D's and S3D's
// channel-wise 3x3x3 layers). The 3-D QConv stacks a slice's kd depth planes
// as channels, which makes a depthwise convolution a grouped one of kd
// channels per group, far off the depthwise kernel (22 ms for one 3x3x3
// layer of 54 channels at 8x28x28, twice the float32 time). Here the planes
// are interleaved along the width instead: output slice z reads the image
// [H, W·kd, C] whose pixel (y, x·kd + j) is pixel (y, x) of plane
// z·sd − pf + j·dd (the input zero point for a plane in the depth padding).
// Tap (kt, ki, kj) of the 3-D window then is tap (ki, kj·kd + kt) of a 2-D
// kh × kw·kd window with width stride sw·kd, and the 2-D width padding is
// kd times the 3-D one: every 2-D tap is a 3-D one, none wasted. All N·OD
// interleaved slices are one batch of the 2-D depthwise QConv (kernels.QConv's
// depthwise path, VNNI or AVX2), whose output [N·OD, OH, OW, OC] is the NDHWC
// output. The same integer products are summed, so the result is exact.

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

//
// Where kernels.QDepthwise3D has a path (AVX-512 VNNI) the interleaving is not
// needed: it lays the volume out once as the 2-D kernel's quad rows and runs
// the kd·kh kernel rows of a 3-D window as one 2-D window of byte offsets
// into it (nineteenth session: the interleaving and the relayout of the
// interleaved rows were two thirds of x3d_dw's int8 depthwise time).

// dwQConv3D is a depthwise 3-D QConv on the interleaved 2-D kernel, or on
// kernels.QDepthwise3D.
type dwQConv3D struct {
	core                  *convCore
	c, kd, sd, dd, pf, pb int
	xZP                   int32
	// vol is the convolution as kernels.QDepthwise3D runs it (nil where its
	// packing does not apply: weights with a zero point), and s its filter
	// geometry.
	vol *convCore
	s   kernels.Conv3DShape
}

// newDWQConv3D returns nil when the convolution is not depthwise with depth
// taps to interleave (one input channel per group, kd > 1, width dilation
// 1): w is [OC, 1, kd, kh, kw].
func newDWQConv3D(c int, w []int8, wshape []int, st, dl, pads []int, groups int, wzp, bias []int32, xzp int32, b *BuildContext) (*dwQConv3D, error) {
	oc, kd, kh, kw := wshape[0], wshape[2], wshape[3], wshape[4]
	if groups != c || wshape[1] != 1 || kd < 2 || dl[2] != 1 || oc%c != 0 {
		return nil, nil
	}
	rq, err := newRequantFromAttrs(b.Node, oc)
	if err != nil {
		return nil, err
	}
	// w2 [OC, 1, kh, kw·kd]: w2[o, ki, kj·kd + kt] = w[o, kt, ki, kj].
	w2 := make([]int8, len(w))
	for o := 0; o < oc; o++ {
		for kt := 0; kt < kd; kt++ {
			for ki := 0; ki < kh; ki++ {
				for kj := 0; kj < kw; kj++ {
					w2[((o*kh+ki)*kw+kj)*kd+kt] = w[(((o*kd+kt)*kh+ki)*kw + kj)]
				}
			}
		}
	}
	geom := &convGeom{oc: oc, cg: 1, kh: kh, kw: kw * kd, groups: c, sh: st[1], sw: st[2] * kd, dh: dl[1], dw: 1,
		pt: pads[1], pl: pads[2] * kd, pb: pads[4], pr: pads[5] * kd}
	core, err := newConvCore(geom, w2, wzp, bias, &xzp, rq)
	if err != nil {
		return nil, err
	}
	k := &dwQConv3D{core: core, c: c, kd: kd, sd: st[0], dd: dl[0], pf: pads[0], pb: pads[3], xZP: xzp,
		s: kernels.Conv3DShape{C: c, OC: oc, KD: kd, KH: kh, KW: kw, StrideD: st[0], StrideH: st[1], StrideW: st[2],
			PadFront: pads[0], PadTop: pads[1], PadLeft: pads[2], PadBack: pads[3], PadBottom: pads[4], PadRight: pads[5],
			DilD: dl[0], DilH: dl[1], DilW: dl[2], Groups: c}}
	// The same weights as a 2-D depthwise window of kd·kh rows of kw taps.
	vgeom := &convGeom{oc: oc, cg: 1, kh: kd * kh, kw: kw, groups: c, sh: 1, sw: 1, dh: 1, dw: 1}
	if vol, err := newConvCore(vgeom, w, wzp, bias, &xzp, rq); err == nil && vol.packed != nil {
		k.vol = vol
	}
	return k, nil
}

func (k *dwQConv3D) run(ctx *ExecContext, x []int8, n, d, h, w int) ([]*graph.Tensor, error) {
	if k.vol != nil {
		s := k.s
		s.N, s.D, s.H, s.W = n, d, h, w
		if s.Validate() == nil {
			od, oh, ow := s.Out()
			out := ctx.AllocI8(n * od * oh * ow * s.OC)
			if kernels.QDepthwise3D(s, x, k.vol.packed, out, k.vol.rq, ctx.Threads) {
				return []*graph.Tensor{graph.FromInt8([]int{n, od, oh, ow, s.OC}, out)}, nil
			}
		}
	}
	od := 0
	if span := d + k.pf + k.pb - (k.kd-1)*k.dd - 1; span >= 0 {
		od = span/k.sd + 1
	}
	c, kd := k.c, k.kd
	wi := w * kd
	slice := h * wi * c
	inter := ctx.AllocI8(n * od * slice)
	z8 := int8(k.xZP)
	qtensor.ParallelChunks(n*od, ctx.Threads, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			img, z := r/od, r%od
			dst := inter[r*slice : (r+1)*slice]
			for j := 0; j < kd; j++ {
				iz := z*k.sd - k.pf + j*k.dd
				if iz < 0 || iz >= d {
					for p := 0; p < h*w; p++ {
						o := dst[(p*kd+j)*c:][:c]
						for i := range o {
							o[i] = z8
						}
					}
					continue
				}
				src := x[(img*d+iz)*h*w*c:][:h*w*c]
				for p := 0; p < h*w; p++ {
					copy(dst[(p*kd+j)*c:][:c], src[p*c:])
				}
			}
		}
	})
	out, _, shape, err := k.core.run(ctx, inter, []int{n * od, h, wi, c}, k.xZP)
	if err != nil {
		return nil, err
	}
	return []*graph.Tensor{graph.FromInt8([]int{n, od, shape[1], shape[2], shape[3]}, out)}, nil
}
