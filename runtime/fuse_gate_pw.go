package runtime

// Squeeze-excite gate + projection fusion of the channels-last float32
// chains. In an EfficientNet/MobileNetV3 block the gate Mul(x, g), g per image
// and channel, writes a tensor of the block's expanded width only for the 1x1
// projection to read it back. The projection of the gated tensor is the
// projection of x with the weights scaled along their input channels:
// W·(x ⊙ g) = (W·diag(g))·x. So the fused step scales a copy of the packed
// weights by each image's gate (Cout·Cin multiplies) and runs the GEMM on x,
// where the gate pass costs Cin·H·W multiplies and a tensor written and read.
// That pays where the map has at least as many pixels as the projection has
// output channels (the early, large blocks); elsewhere (EfficientNet-B0's
// 7x7 blocks: 192 or 320 outputs, 49 pixels) the step gates x as the Mul did
// and runs the projection after it: folding there too made the 1152->320
// step 0.46-0.48 ms instead of 0.42-0.44 at 1 thread and 0.35-0.55 instead
// of 0.24-0.31 at 2 (per-step minimums of TestExportedStepScaling, three
// alternated runs of each, on a machine others were using). On the whole
// model the fold took the 1-thread CPU time from 15.4-20.2 to 14.3-18.2 ms
// (sum of per-step minimums, four alternated runs each, same test). Folded, each product w·g·x is rounded
// as (w·g)·x instead of w·(x·g): the outputs agree with the steps apart
// within float tolerance, not bit for bit.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// gatePointwiseKernel is a channels-last gate Mul followed by the 1x1 Conv
// that alone reads its output. Its inputs are the Mul's two, then the Conv's
// with the first (the gated tensor) absent.
type gatePointwiseKernel struct {
	gate *nhwcGateKernel
	pw   *rowsConvKernel
}

// fuseGatePointwise merges each channels-last gate step with the pointwise
// step that alone reads its output (after planChannelsLast, before buffer
// lifetimes are planned). The fused step takes the Conv's place, where all of
// its inputs are ready.
func (s *Session) fuseGatePointwise() {
	if s.cfg.skipFusions&fuseGatePW != 0 {
		return
	}
	s.fuseIntoSoleReader(func(i, j int) Kernel {
		gk, ok := s.steps[i].kernel.(*nhwcGateKernel)
		if !ok || len(s.steps[i].in) != 2 {
			return nil
		}
		pw, ok := s.steps[j].kernel.(*rowsConvKernel)
		if !ok || !pw.inNHWC || !pw.outNHWC || pw.kh != 1 || pw.kw != 1 || pw.c != gk.c {
			return nil
		}
		return &gatePointwiseKernel{gate: gk, pw: pw}
	})
}

func (k *gatePointwiseKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) < 2+k.pw.nConvIn {
		return nil, fmt.Errorf("gate+pointwise Conv: got %d inputs", len(in))
	}
	x, gt := in[k.gate.xIdx], in[1-k.gate.xIdx]
	c, sx := k.gate.c, pixelStride(k.gate.c)
	if x == nil || gt == nil {
		return nil, fmt.Errorf("gate+pointwise Conv: missing input")
	}
	if x.DType != graph.Float32 || len(x.Shape) != 4 || x.Shape[3] != sx {
		return nil, fmt.Errorf("gate+pointwise Conv: input %v, want float32 [N, H, W, %d]", x.Shape, sx)
	}
	n, h, wd := x.Shape[0], x.Shape[1], x.Shape[2]
	if gt.DType != graph.Float32 || len(gt.F32()) != n*c {
		return nil, fmt.Errorf("gate+pointwise Conv: gate %v, want float32 [%d, %d, 1, 1]", gt.Shape, n, c)
	}
	mid := &graph.Tensor{DType: graph.Float32, Shape: []int{n, h, wd, sx}}
	pin := append([]*graph.Tensor{mid}, in[3:]...) // in[2], the gated tensor, is absent
	w, b := pin[1], optInput(pin[:k.pw.nConvIn], 2)
	if w != k.pw.conv.wConst || b != k.pw.conv.bConst {
		return nil, fmt.Errorf("gate+pointwise Conv: inputs are not the planned ones")
	}
	geom, outShape, err := k.pw.conv.shapes(&graph.Tensor{DType: graph.Float32, Shape: []int{n, c, h, wd}}, w, b, 1, false)
	if err != nil {
		return nil, err
	}
	hw := h * wd
	if hw == 0 || !k.pw.conv.plan([]int{h, wd}, geom).pointwise || k.pw.m > hw {
		// Apart: the weights are the larger operand to scale, or the 1x1
		// Conv is not pointwise after all.
		mid.Data = []float32{}
		if hw > 0 {
			tmp := getF32(n * hw * sx)
			defer putF32(tmp)
			mid.Data = *tmp
			gateNHWC(x.F32(), gt.F32(), *tmp, c, sx, n*hw, hw, ctx.Threads)
		}
		return k.pw.Run(ctx, pin)
	}
	so := pixelStride(k.pw.m)
	var res []float32
	if k.pw.residual {
		if res, err = residualInput(pin[k.pw.nConvIn], true, outShape, n, h, wd, so); err != nil {
			return nil, fmt.Errorf("gate+pointwise Conv: %w", err)
		}
	}
	y := ctx.AllocF32(n * hw * so)
	xd, gd := x.F32(), gt.F32()
	scaled := *k.pw
	// The weights gemm runs: the mixed parts where there are (only they
	// are scaled), else pb.
	buf := getF32(max(k.pw.pb.DataLen(), partsDataLen(k.pw.mixed)))
	defer putF32(buf)
	for img := 0; img < n; img++ {
		g := gd[img*c : (img+1)*c]
		if k.pw.mixed != nil {
			scaled.mixed = scaledParts(k.pw.mixed, g, *buf, ctx.Threads)
		} else {
			scaled.pb = k.pw.pb.ScaledRowsThreads(g, *buf, ctx.Threads)
		}
		var ri []float32
		if res != nil {
			ri = res[img*hw*so:]
		}
		scaled.gemm(xd[img*hw*sx:], sx, k.pw.ident, hw, y[img*hw*so:], so, ri, false, ctx.Threads)
	}
	return []*graph.Tensor{{DType: graph.Float32, Shape: []int{n, h, wd, so}, Data: y}}, nil
}
