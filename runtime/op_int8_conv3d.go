package runtime

// The int8 dialect's 3-D operators (the lowering emits them for Conv,
// MaxPool, AveragePool and the global pools of QDQ video and volumetric
// networks): QConv with 5-D weights on kernels.QConv3D (the int8 GEMM, VNNI
// or AMX, over the NDHWC input), and QPool of an NDHWC tensor (an average on
// kernels.QAvgPool3D, eighteenth session). A 3-D max pool is separable:
// the lane-wise max of the window's depth planes is one plane, whose 2-D
// max pool (kernels.QMaxPool) is the output slice; max commutes with the
// int8 grid, so the result is exact. A global pool of [N, D, H, W, C] is the
// 2-D global pool of [N, D·H, W, C].

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// qconv3DKernel is a QConv of 5-D weights.
type qconv3DKernel struct {
	s  kernels.Conv3DShape // the filter and its geometry; N, D, H, W per run
	w  *kernels.QConv3DWeights
	rq *kernels.Requant
	// dw runs a depthwise convolution on the 2-D depthwise kernel
	// (op_int8_dwconv3d.go); nil otherwise.
	dw *dwQConv3D
}

func buildQConv3D(b *BuildContext) (Kernel, error) {
	n := b.Node
	w := b.Const(1)
	wd, ok := w.Data.([]int8)
	if !ok || len(w.Shape) != 5 {
		return nil, b.Errorf("weights must be 5-D int8, got %s %v", w.DType, w.Shape)
	}
	st, err := conv3DAttr(n, "strides")
	if err != nil {
		return nil, b.Errorf("%v", err)
	}
	dl, err := conv3DAttr(n, "dilations")
	if err != nil {
		return nil, b.Errorf("%v", err)
	}
	pads := n.AttrIntList("pads")
	if pads == nil {
		pads = make([]int, 6)
	}
	if len(pads) != 6 {
		return nil, b.Errorf("pads %v: want 6 values for a 3-D convolution", pads)
	}
	g := int(n.AttrInt("group", 1))
	if g < 1 {
		return nil, b.Errorf("group must be positive")
	}
	s := kernels.Conv3DShape{N: 1, C: w.Shape[1] * g, OC: w.Shape[0], KD: w.Shape[2], KH: w.Shape[3], KW: w.Shape[4],
		StrideD: st[0], StrideH: st[1], StrideW: st[2], DilD: dl[0], DilH: dl[1], DilW: dl[2],
		PadFront: pads[0], PadTop: pads[1], PadLeft: pads[2], PadBack: pads[3], PadBottom: pads[4], PadRight: pads[5], Groups: g}
	// The filter alone, on an input the size of the dilated kernel.
	f := s
	f.D, f.H, f.W = (s.KD-1)*max(s.DilD, 1)+1, (s.KH-1)*max(s.DilH, 1)+1, (s.KW-1)*max(s.DilW, 1)+1
	f.PadFront, f.PadTop, f.PadLeft, f.PadBack, f.PadBottom, f.PadRight = 0, 0, 0, 0, 0, 0
	xzp, err := zpAttr(n, "x_zp")
	if err != nil {
		return nil, err
	}
	wzp, err := zpAttr(n, "w_zp")
	if err != nil {
		return nil, err
	}
	for _, z := range wzp {
		if z != 0 {
			return nil, b.Errorf("3-D QConv: weight zero points must be 0, got %v", wzp)
		}
	}
	var bias []int32
	if bt := b.Const(2); bt != nil {
		if bias = bt.I32(); bias == nil || len(bias) != s.OC {
			return nil, b.Errorf("bias must be int32 with %d values, got %s %v", s.OC, bt.DType, bt.Shape)
		}
	} else if b.Input(2) != nil {
		return nil, b.Errorf("bias must be a constant")
	}
	dw, err := newDWQConv3D(s.C, wd, w.Shape, st, dl, pads, g, wzp, bias, xzp[0], b)
	if err != nil {
		return nil, b.Errorf("%v", err)
	}
	rq, err := newRequantFromAttrs(n, s.OC)
	if err != nil {
		return nil, err
	}
	pw, err := kernels.PackQConv3D(f, wd, bias, xzp[0])
	if err != nil {
		return nil, b.Errorf("%v", err)
	}
	return &qconv3DKernel{s: s, w: pw, rq: rq, dw: dw}, nil
}

func (k *qconv3DKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	sh := in[0].Shape
	if len(sh) != 5 || sh[4] != k.s.C {
		return nil, fmt.Errorf("3-D QConv: input %v, want [N, D, H, W, %d]", sh, k.s.C)
	}
	s := k.s
	s.N, s.D, s.H, s.W = sh[0], sh[1], sh[2], sh[3]
	if s.N == 0 {
		s.N = 1
		od, oh, ow := s.Out()
		return []*graph.Tensor{graph.FromInt8([]int{0, od, oh, ow, s.OC}, []int8{})}, nil
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if k.dw != nil {
		return k.dw.run(ctx, x, s.N, s.D, s.H, s.W)
	}
	od, oh, ow := s.Out()
	out := ctx.AllocI8(s.N * od * oh * ow * s.OC)
	kernels.QConv3D(s, x, k.w, out, k.rq, ctx.Threads)
	return []*graph.Tensor{graph.FromInt8([]int{s.N, od, oh, ow, s.OC}, out)}, nil
}

// qpool3DKernel is a 3-D max or average QPool of an NDHWC int8 tensor.
type qpool3DKernel struct {
	k, s, d [3]int
	pads    [6]int
	ceil    bool
	// avg is an average pool (kernels.QAvgPool3D) with its quantization.
	avg      bool
	countPad bool
	q        *qpoolKernel
}

func buildQPool3D(b *BuildContext, q *qpoolKernel, ks []int) (Kernel, error) {
	n := b.Node
	k := &qpool3DKernel{ceil: q.ceil, avg: q.kind == "avg", countPad: q.countPad, q: q}
	copy(k.k[:], ks)
	get := func(name string, def int, dst []int) error {
		v := n.AttrIntList(name)
		if v == nil {
			for i := range dst {
				dst[i] = def
			}
			return nil
		}
		if len(v) != len(dst) {
			return b.Errorf("attribute %s %v does not match kernel_shape %v", name, v, ks)
		}
		copy(dst, v)
		return nil
	}
	if err := get("strides", 1, k.s[:]); err != nil {
		return nil, err
	}
	if err := get("dilations", 1, k.d[:]); err != nil {
		return nil, err
	}
	if err := get("pads", 0, k.pads[:]); err != nil {
		return nil, err
	}
	for i := 0; i < 3; i++ {
		if k.k[i] < 1 || k.s[i] < 1 || k.d[i] < 1 || k.pads[i] < 0 || k.pads[3+i] < 0 {
			return nil, b.Errorf("kernel, strides and dilations must be positive and pads non-negative")
		}
	}
	return k, nil
}

func (k *qpool3DKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	x, err := i8Data(in[0], "input")
	if err != nil {
		return nil, err
	}
	sh := in[0].Shape
	if len(sh) != 5 {
		return nil, fmt.Errorf("3-D pooling input must be [N, D, H, W, C], got %v", sh)
	}
	n, d, h, w, c := sh[0], sh[1], sh[2], sh[3], sh[4]
	// Depth: the window of output slice z reads planes z·s − pf + t·dil.
	pf, pe := k.pads[0], k.pads[3]
	if k.ceil {
		pe += qtensor.CeilExtra(d, k.k[0], k.s[0], k.d[0], pf, pe)
	}
	od := 0
	if span := d + pf + pe - (k.k[0]-1)*k.d[0] - 1; span >= 0 {
		od = span/k.s[0] + 1
	}
	s2 := kernels.PoolShape{N: 1, H: h, W: w, C: c, KH: k.k[1], KW: k.k[2], StrideH: k.s[1], StrideW: k.s[2],
		PadTop: k.pads[1], PadLeft: k.pads[2], PadBottom: k.pads[4], PadRight: k.pads[5], DilH: k.d[1], DilW: k.d[2]}
	if k.ceil {
		s2.PadBottom += qtensor.CeilExtra(h, s2.KH, s2.StrideH, s2.DilH, s2.PadTop, s2.PadBottom)
		s2.PadRight += qtensor.CeilExtra(w, s2.KW, s2.StrideW, s2.DilW, s2.PadLeft, s2.PadRight)
	}
	if n*d*h*w*c == 0 || od <= 0 {
		return nil, fmt.Errorf("3-D pooling: empty input %v or output", sh)
	}
	if err := s2.Validate(); err != nil {
		return nil, err
	}
	oh, ow := s2.OutH(), s2.OutW()
	plane, oplane := h*w*c, oh*ow*c
	out := ctx.AllocI8(n * od * oplane)
	if k.avg {
		s3 := kernels.Pool3DShape{N: n, D: d, H: h, W: w, C: c, K: k.k, Stride: k.s, Dil: k.d, CountIncludePad: k.countPad,
			Pads: [6]int{pf, s2.PadTop, s2.PadLeft, pe, s2.PadBottom, s2.PadRight}}
		if err := s3.Validate(); err != nil {
			return nil, err
		}
		kernels.QAvgPool3D(s3, x, k.q.xScale, k.q.xZP, out, k.q.yScale, k.q.yZP, ctx.Threads)
		return []*graph.Tensor{graph.FromInt8([]int{n, od, oh, ow, c}, out)}, nil
	}
	var tmp []int8
	for img := 0; img < n; img++ {
		for z := 0; z < od; z++ {
			ys := out[(img*od+z)*oplane : (img*od+z+1)*oplane]
			var src []int8
			for t := 0; t < k.k[0]; t++ {
				iz := z*k.s[0] - pf + t*k.d[0]
				if iz < 0 || iz >= d {
					continue
				}
				p := x[(img*d+iz)*plane : (img*d+iz+1)*plane]
				switch {
				case src == nil:
					src = p
				default:
					if tmp == nil {
						tmp = make([]int8, plane)
					}
					if &src[0] != &tmp[0] {
						copy(tmp, src)
						src = tmp
					}
					kernels.MaxI8(tmp, p)
				}
			}
			if src == nil {
				// A window entirely in the depth padding: the lowest value.
				for i := range ys {
					ys[i] = -128
				}
				continue
			}
			kernels.QMaxPool(s2, src, ys, ctx.Threads)
		}
	}
	return []*graph.Tensor{graph.FromInt8([]int{n, od, oh, ow, c}, out)}, nil
}

// conv3DAttr reads a 3-D convolution's strides or dilations (default 1 on
// every axis), for the QDQ-lowered QConv and the QOperator QLinearConv alike.
func conv3DAttr(n *graph.Node, name string) ([]int, error) {
	v := n.AttrIntList(name)
	if v == nil {
		return []int{1, 1, 1}, nil
	}
	if len(v) != 3 {
		return nil, fmt.Errorf("attribute %s %v: want 3 values for a 3-D convolution", name, v)
	}
	return v, nil
}
