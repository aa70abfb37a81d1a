package runtime

// The int8 3-D ConvTranspose (eighteenth session: the decoders of 3-D UNets,
// C3D-style upsampling). Output slice z (padded position zz = z + pad_front)
// is written by the depth taps kt with kt·dd ≡ zz (mod sd), from input plane
// iz = (zz − kt·dd)/sd: which taps depends only on zz mod sd, the slice's
// depth phase. The slice is then the 2-D ConvTranspose (kh×kw, the height and
// width strides, pads, dilations and output padding) of those planes stacked
// as channels — plane j of the phase's taps is channels [j·cg, (j+1)·cg) of
// each group — with the taps' weights stacked the same way; a plane outside
// the input is the input zero point, which adds nothing. So each phase is one
// 2-D int8 ConvTranspose (the tiled or phase kernels of the 2-D operator)
// over all its slices at once, the kernel of depth 1 without depth stride or
// padding (C3D's (1, 2, 2) upsampling) the 2-D one over the input itself,
// N·D images, with no copy. The same stacking runs the 3-D Conv on the 2-D
// QConv (kernels.QConv3D).

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// qct3DPhase is one depth phase: its taps (in stacking order) and the 2-D
// ConvTranspose of the stacked planes.
type qct3DPhase struct {
	taps []int
	k    *qconvTransposeKernel
}

type qconvTranspose3DKernel struct {
	c, oc, groups, cg      int
	kd, sd, dd, pf, pb, op int
	xZP                    int32
	phases                 []qct3DPhase // by (z + pf) mod sd
	// direct: depth 1, stride 1, no depth padding: the 2-D kernel on the input.
	direct bool
}

func buildQConvTranspose3D(b *BuildContext) (Kernel, error) {
	n := b.Node
	w := b.Const(1)
	wd, ok := w.Data.([]int8)
	if !ok {
		return nil, b.Errorf("weights must be 5-D int8, got %s %v", w.DType, w.Shape)
	}
	three := func(name string, def int) ([]int, error) {
		v := n.AttrIntList(name)
		if v == nil {
			return []int{def, def, def}, nil
		}
		if len(v) != 3 {
			return nil, b.Errorf("attribute %s %v: want 3 values for a 3-D ConvTranspose", name, v)
		}
		return v, nil
	}
	st, err := three("strides", 1)
	if err != nil {
		return nil, err
	}
	dl, err := three("dilations", 1)
	if err != nil {
		return nil, err
	}
	opad, err := three("output_padding", 0)
	if err != nil {
		return nil, err
	}
	pads := n.AttrIntList("pads")
	if pads == nil {
		pads = make([]int, 6)
	}
	if len(pads) != 6 {
		return nil, b.Errorf("pads %v: want 6 values for a 3-D ConvTranspose", pads)
	}
	groups := int(n.AttrInt("group", 1))
	if groups < 1 || w.Shape[0]%groups != 0 {
		return nil, b.Errorf("group %d does not divide the %d weight input channels", groups, w.Shape[0])
	}
	for i := 0; i < 3; i++ {
		if st[i] < 1 || dl[i] < 1 || pads[i] < 0 || pads[3+i] < 0 || opad[i] < 0 {
			return nil, b.Errorf("strides and dilations must be positive, pads and output_padding non-negative")
		}
	}
	k := &qconvTranspose3DKernel{c: w.Shape[0], groups: groups, cg: w.Shape[0] / groups, oc: w.Shape[1] * groups,
		kd: w.Shape[2], sd: st[0], dd: dl[0], pf: pads[0], pb: pads[3], op: opad[0]}
	xzp, err := zpAttr(n, "x_zp")
	if err != nil {
		return nil, err
	}
	k.xZP = xzp[0]
	wzp, err := zpAttr(n, "w_zp")
	if err != nil {
		return nil, err
	}
	if len(wzp) != 1 && len(wzp) != k.oc {
		return nil, b.Errorf("%d weight zero points for %d output channels", len(wzp), k.oc)
	}
	var bias []int32
	if bt := b.Const(2); bt != nil {
		if bias = bt.I32(); bias == nil || len(bias) != k.oc {
			return nil, b.Errorf("bias must be int32 with %d values, got %s %v", k.oc, bt.DType, bt.Shape)
		}
	} else if b.Input(2) != nil {
		return nil, b.Errorf("bias must be a constant")
	}
	rq, err := newRequantFromAttrs(n, k.oc)
	if err != nil {
		return nil, err
	}
	ocg, kh, kw := w.Shape[1], w.Shape[3], w.Shape[4]
	hw := kh * kw
	k.direct = k.kd == 1 && k.sd == 1 && k.pf == 0 && k.pb == 0 && k.op == 0
	k.phases = make([]qct3DPhase, k.sd)
	for r := range k.phases {
		var taps []int
		for kt := 0; kt < k.kd; kt++ {
			if kt*k.dd%k.sd == r {
				taps = append(taps, kt)
			}
		}
		nt := max(1, len(taps))
		geom := &convGeom{oc: k.oc, cg: nt * k.cg, kh: kh, kw: kw, groups: groups, sh: st[1], sw: st[2], dh: dl[1], dw: dl[2],
			pt: pads[1], pl: pads[2], pb: pads[4], pr: pads[5], outPadH: opad[1], outPadW: opad[2]}
		// w2 [groups·nt·cg, ocg, kh, kw]: channel (g·nt + j)·cg + c is
		// channel g·cg + c of tap taps[j]; a phase no tap reaches holds the
		// weight zero points (w − zp = 0: the output is the bias).
		w2 := make([]int8, groups*nt*k.cg*ocg*hw)
		for g := 0; g < groups; g++ {
			for j := 0; j < nt; j++ {
				for c := 0; c < k.cg; c++ {
					for o := 0; o < ocg; o++ {
						dst := w2[((((g*nt+j)*k.cg+c)*ocg)+o)*hw:][:hw]
						if len(taps) == 0 {
							z := wzp[0]
							if len(wzp) > 1 {
								z = wzp[g*ocg+o]
							}
							for i := range dst {
								dst[i] = int8(z)
							}
							continue
						}
						copy(dst, wd[((((g*k.cg+c)*ocg)+o)*k.kd+taps[j])*hw:][:hw])
					}
				}
			}
		}
		pk, err := newQConvTransposeKernel(geom, w2, wzp, bias, k.xZP, rq)
		if err != nil {
			return nil, b.Errorf("%v", err)
		}
		k.phases[r] = qct3DPhase{taps: taps, k: pk}
	}
	return k, nil
}

func (k *qconvTranspose3DKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	sh := in[0].Shape
	if len(sh) != 5 || sh[4] != k.c {
		return nil, fmt.Errorf("3-D QConvTranspose: input %v, want [N, D, H, W, %d]", sh, k.c)
	}
	n, d, h, w := sh[0], sh[1], sh[2], sh[3]
	od := (d-1)*k.sd - k.pf - k.pb + k.dd*(k.kd-1) + 1 + k.op
	oh, ow := k.phases[0].k.geom.transposeOutHW(h, w)
	if od <= 0 || oh <= 0 || ow <= 0 {
		return nil, fmt.Errorf("3-D QConvTranspose: empty output %dx%dx%d", od, oh, ow)
	}
	oshape := []int{n, od, oh, ow, k.oc}
	out := ctx.AllocI8(n * od * oh * ow * k.oc)
	if n == 0 {
		return []*graph.Tensor{graph.FromInt8(oshape, out)}, nil
	}
	if k.direct {
		if _, _, err := k.phases[0].k.runInto(ctx, x, []int{n * d, h, w, k.c}, out); err != nil {
			return nil, err
		}
		return []*graph.Tensor{graph.FromInt8(oshape, out)}, nil
	}
	plane, oplane := h*w*k.c, oh*ow*k.oc
	for r, ph := range k.phases {
		// The slices of this phase: zz = z + pf ≡ r (mod sd).
		var zs []int
		for z := 0; z < od; z++ {
			if (z+k.pf)%k.sd == r {
				zs = append(zs, z)
			}
		}
		if len(zs) == 0 {
			continue
		}
		nt := max(1, len(ph.taps))
		cs := nt * k.cg // stacked channels per group
		stack := make([]int8, n*len(zs)*h*w*k.groups*cs)
		for img := 0; img < n; img++ {
			for si, z := range zs {
				dst := stack[(img*len(zs)+si)*h*w*k.groups*cs:][:h*w*k.groups*cs]
				for j := 0; j < nt; j++ {
					var src []int8
					if len(ph.taps) > 0 {
						if t := z + k.pf - ph.taps[j]*k.dd; t >= 0 && t/k.sd < d {
							src = x[(img*d+t/k.sd)*plane:][:plane]
						}
					}
					for p := 0; p < h*w; p++ {
						for g := 0; g < k.groups; g++ {
							o := dst[p*k.groups*cs+g*cs+j*k.cg:][:k.cg]
							if src == nil {
								for i := range o {
									o[i] = int8(k.xZP)
								}
								continue
							}
							copy(o, src[p*k.c+g*k.cg:][:k.cg])
						}
					}
				}
			}
		}
		res, _, err := ph.k.runInto(ctx, stack, []int{n * len(zs), h, w, k.groups * cs}, nil)
		if err != nil {
			return nil, err
		}
		for img := 0; img < n; img++ {
			for si, z := range zs {
				copy(out[(img*od+z)*oplane:][:oplane], res[(img*len(zs)+si)*oplane:][:oplane])
			}
		}
	}
	return []*graph.Tensor{graph.FromInt8(oshape, out)}, nil
}
