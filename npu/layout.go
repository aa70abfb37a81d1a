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
	halo           float64 // cycles receiving halo rows from neighbouring slices
	cycles         float64 // total cycles for all images (passes and halo)
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
	// Lanes hold output pixels of a row; a map narrower than the lanes packs several
	// rows into them (the shift register feeds each lane its own window).
	wc, rowsPerPass := ceilDiv(g.wo, h.lanes), 1
	if g.wo > 0 && g.wo < h.lanes {
		rowsPerPass = h.lanes / g.wo
	}
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
		depth = roundUp(g.cin/grp, min(h.calign, g.cin/grp)) * g.kh * g.kw * tap
	}
	// The vector engine requantises a pass's 32x4 accumulators while the next pass
	// runs; it only shows when the reduction is very short. Table lookups cannot
	// start before the accumulation is complete, so they add to the pass.
	// A depthwise pass fills one row of the array, so it requantises only its lanes.
	outputs := h.lanes * h.height
	if g.depthwise {
		outputs = h.lanes * min(h.height, max(1, g.cout/max(g.cin, 1)))
	}
	epilogue := float64(outputs) / h.veBPC
	var lookups float64
	if g.tableEpilogue {
		// A transcendental activation looks every output up in a table once the
		// accumulation is complete: num_table_ports lookups per cycle per slice.
		lookups = float64(h.lanes*h.height) / h.tablePorts
	}
	// A regular convolution broadcasts each input vector over the fetch network to
	// the slices computing other output channels: the array issues one vector per
	// cycle only when the broadcast keeps up (macEff, the sustained fraction), and
	// every pass restarts the broadcast (passOverhead cycles). A depthwise
	// convolution reads only its own channel from the slice's SRAM.
	work := math.Max(float64(depth), epilogue)
	fixed := h.warmup + lookups
	fusedEff := h.fusedEff
	if !g.depthwise {
		work /= h.macEff
		fixed += h.passOverhead
	} else {
		fusedEff = 1
	}
	plan := func(slices int, eff float64) macPlan {
		best := macPlan{passes: math.MaxInt, cycles: math.Inf(1)}
		for hs := 1; hs <= min(slices, max(g.ho, 1)); hs++ {
			cs := min(slices/hs, chPasses)
			passes := ceilDiv(ceilDiv(g.ho, hs), rowsPerPass) * wc * ceilDiv(chPasses, cs)
			pc := work + fixed
			halo := haloCycles(g, hs, cs, h)
			if c := float64(g.n)*float64(passes)*pc + halo; c < best.cycles {
				best = macPlan{hSplit: hs, cSplit: cs, passes: passes, passCycles: pc, halo: halo, cycles: c}
			}
		}
		best.cycles /= eff
		return best
	}
	// Fused mode joins the two PEs' slices; the input vectors a slice needs are
	// spread over both PEs, so half of them cross between the PEs (see newHW). A
	// layer too small to gain from that is kept on one PE's slices, where its
	// operands stay local.
	best := plan(h.slices, fusedEff)
	if fusedEff < 1 && h.pesPerProgram > 1 {
		if local := plan(h.slices/h.pesPerProgram, 1); local.cycles < best.cycles {
			best = local
		}
	}
	return best
}

// haloCycles is the time a slice spends receiving the halo rows of a convolution
// whose output rows are split over slices: a k-row window needs k - stride input rows
// beyond its own band, held by the neighbouring slice, for every input channel
// (width padded to the lanes). They arrive over the fetch network at
// fetch_network_width bytes per cycle, after hop_cycles per hop, before the slice can
// start its band (a depthwise slice only for its own channels). Every image of the
// batch exchanges its own halo.
func haloCycles(g *macGeom, hSplit, cSplit int, h hw) float64 {
	if hSplit <= 1 || g.transposed {
		return 0
	}
	rows := g.kh - max(g.sh, 1)
	if rows <= 0 {
		return 0
	}
	cin := roundUp(g.cin, h.calign)
	if g.depthwise {
		// A depthwise slice needs only the channels it computes.
		cin = roundUp(ceilDiv(g.cin, max(cSplit, 1)), h.calign)
	}
	win := roundUp((g.wo-1)*max(g.sw, 1)+g.kw, h.lanes)
	bytes := float64(rows * cin * win)
	return float64(g.n) * (bytes/h.fetchBPC + h.hop)
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
	case kCopy:
		return perSlice(float64(in+out), h.sramBPC)
	case kPad:
		// Padding the width shifts every row across the 32 lanes (a left pad moves
		// each element one lane), which the SRAM port's aligned vector accesses
		// cannot do: the rows go through the vector engine.
		return perSlice(float64(in+out), h.veBPC)
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
