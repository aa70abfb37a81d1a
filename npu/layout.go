package npu

import "math"

// layoutDims maps a tensor onto the NPU layout (N, C, H, W): the last axis is the
// width (the 32-lane vector axis), the one before it the height and the one before
// that the channels; leading axes are images. A matrix [M, K] keeps its rows on the
// lanes and its columns as channels, which is how the MAC array computes Gemm.
func layoutDims(shape []int) (n, c, hgt, w int) {
	switch r := len(shape); r {
	case 0:
		return 1, 1, 1, 1
	case 1:
		return 1, 1, 1, shape[0]
	case 2:
		return 1, shape[1], 1, shape[0]
	case 3:
		return shape[0], shape[1], 1, shape[2]
	default:
		n = 1
		for _, d := range shape[:r-3] {
			n *= d
		}
		return n, shape[r-3], shape[r-2], shape[r-1]
	}
}

// layoutAxes returns the tensor axes that are the layout's channel and height axes
// (-1 when absent).
func layoutAxes(rank int) (c, hgt int) {
	switch {
	case rank == 2:
		return 1, -1
	case rank == 3:
		return 1, -1
	case rank >= 4:
		return rank - 3, rank - 2
	}
	return -1, -1
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// layoutBytes is the SRAM/DRAM footprint of an int8 tensor in the NPU layout: width
// padded to the MAC lanes, channels to the 4-byte scalar alignment (HCHCW of
// warboy.md 1.4, where channel blocks are multiples of 4).
func layoutBytes(shape []int, h hw) int64 {
	if shape == nil {
		return 0
	}
	n, c, hh, w := layoutDims(shape)
	return int64(n) * int64(roundUp(c, h.calign)) * int64(hh) * int64(roundUp(w, h.lanes))
}

// macPlan is how a MAC operator is spread over the slices.
type macPlan struct {
	hSplit, cSplit int     // slices along the output height and the channel passes
	passes         int     // MAC passes per slice (per image)
	passCycles     float64 // cycles of one pass
	cycles         float64 // total cycles for all images
	util           float64 // useful MACs / (peak x cycles)
}

// macCycles models a MAC operator on the PE. Each slice owns a block of output rows
// (H outer) and output channels (C outer). One pass of its 32x4 MAC array produces
// 32 output pixels of one row (mac_width lanes) for 4 output channels (mac_height):
// it accumulates one input vector per cycle over the whole reduction (input channels
// of the group x kernel taps), then spends warmup_base cycles filling the pipeline.
// A stride-s tap needs ceil(s x lanes / shift_register_width) reads of the input row.
// Depthwise convolutions cannot share an input vector across output channels, so
// they use one of the 4 rows of the array. The slice split minimising the passes of
// the busiest slice is chosen; padding waste (width to 32, channels to 4, rows and
// channels to the split) is explicit.
func macCycles(g *macGeom, h hw) macPlan {
	wc := ceilDiv(g.wo, h.lanes)
	tap := 1
	if g.sw > 1 {
		tap = ceilDiv(g.sw*h.lanes, h.srw)
	}
	var chPasses, depth int
	switch {
	case g.transposed:
		cpg := g.cout / max(g.group, 1)
		chPasses = g.group * ceilDiv(cpg, h.height)
		depth = g.cin / max(g.group, 1) * ceilDiv(g.kh, max(g.sh, 1)) * ceilDiv(g.kw, max(g.sw, 1))
	case g.depthwise:
		mult := max(1, g.cout/max(g.cin, 1))
		chPasses = g.cin * ceilDiv(mult, h.height)
		depth = g.kh * g.kw * tap
	default:
		grp := max(g.group, 1)
		cpg := g.cout / grp
		chPasses = grp * ceilDiv(cpg, h.height)
		depth = g.cin / grp * g.kh * g.kw * tap
	}
	// The vector engine requantises a pass's 32x4 accumulators while the next pass
	// runs; it only shows when the reduction is very short.
	epilogue := float64(h.lanes*h.height) / h.veBPC
	passCycles := math.Max(float64(depth), epilogue) + h.warmup
	best := macPlan{passes: math.MaxInt}
	for hs := 1; hs <= min(h.slices, max(g.ho, 1)); hs++ {
		cs := min(h.slices/hs, chPasses)
		passes := ceilDiv(g.ho, hs) * wc * ceilDiv(chPasses, cs)
		if passes < best.passes {
			best = macPlan{hSplit: hs, cSplit: cs, passes: passes}
		}
	}
	best.passCycles = passCycles
	best.cycles = float64(g.n) * float64(best.passes) * passCycles
	return best
}

// macsOf is the useful MAC count of a MAC geometry.
func macsOf(g *macGeom) int64 {
	switch {
	case g.transposed:
		return 0
	case g.depthwise:
		return int64(g.n) * int64(g.cout) * int64(g.ho) * int64(g.wo) * int64(g.kh*g.kw)
	}
	return int64(g.n) * int64(g.cout) * int64(g.ho) * int64(g.wo) * int64(g.cin/max(g.group, 1)*g.kh*g.kw)
}

// vectorCycles is the cost of a vector-engine step: bytes streamed through the slices'
// SRAM ports or vector units, spread over all slices.
func vectorCycles(l *lop, h hw) float64 {
	var in, out int64
	for _, t := range l.in {
		in += layoutBytes(t.shape, h)
	}
	for _, t := range l.out {
		out += layoutBytes(t.shape, h)
	}
	perSlice := func(bytes float64, bpc float64) float64 {
		return bytes / float64(h.slices) / bpc
	}
	p := h.p
	switch l.kind {
	case kView:
		return p.Model.ViewOpCycles.Value
	case kPad, kCopy:
		return perSlice(float64(in+out), h.sramBPC)
	case kTranspose:
		return perSlice(float64(in+out), h.teBPC)
	case kMaxPool:
		return perSlice(float64(out)*float64(max(l.extra, 1))+float64(out), h.veBPC)
	case kEltwise:
		return perSlice(float64(in+out)*float64(max(l.extra, 1)), h.veBPC)
	case kSoftmax:
		return perSlice(float64(in)*p.Model.SoftmaxPasses.Value+float64(out), h.veBPC)
	case kNorm:
		return perSlice(float64(in)*p.Model.NormPasses.Value+float64(out), h.veBPC)
	case kResize:
		return perSlice(float64(out)*float64(max(l.extra, 1))+float64(out), h.veBPC)
	case kLower, kUnlower, kDequantize:
		b := float64(l.xferByte)
		if l.xfer != nil {
			b += float64(layoutBytes(l.xfer.shape, h))
		}
		return perSlice(b, h.sramBPC)
	}
	return perSlice(float64(in+out), h.veBPC)
}
