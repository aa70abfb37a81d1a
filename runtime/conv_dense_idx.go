package runtime

// Ungrouped convolutions with a kernel larger than 1x1 and 16-wide weight
// panels (output channels not a multiple of 64: DenseNet's 3x3 layers with
// 32 outputs, 3x3 stems with 32, Inception's 48/96/160...) run on the
// indexed path of conv_grouped_idx.go as one block: the output pixels only
// (no padding columns, no banded copy), and a channels-last input read in
// place where its border is the smaller part. Measured (BenchmarkDenseNarrowConv,
// thread CPU time, loaded machine) on DenseNet's 128 → 32 3x3 layers: 56x56
// 2733 → 2373 µs, 28x28 646 → 569, 14x14 179 → 176, 7x7 73 → 43.
//
// Twelfth session: the indexed tiles now come in every panel width of
// PackRowsB (6x16 to 6x64 on AVX-512, kernels/_gen/gen_rows_idx.go), and
// every ungrouped convolution larger than 1x1 whose reduction fits
// narrowIdxMaxK takes this path with its own panels: the 32- and 48-wide
// ones are no longer repacked 16 wide, and the 64-wide ones no longer run
// the GEMM over padded rows with its banded copy. Step profiles at 1
// thread (sum of step CPU times, TestExportedStepProfile, alternated runs,
// loaded machine): Inception-v3 90-93 → 74 ms, GoogLeNet 22-26 → 21,
// ResNet-18 27.5 → 25.2, SqueezeNet-1.1 5.3 → 4.6, DenseNet-121 49-52 → 46;
// BenchmarkDenseNarrowConv, 3x3 layers: 256 → 256 on 14x14 76 → 100
// GMAC/s, 128 → 128 on 28x28 85 → 93, 64 → 64 on 56x56 79 → 88. The 1x1
// convolutions with a stride or padding on a channels-last input take it
// too (their rows read the sampled pixels in place): RegNet-X-400MF's
// stride-2 projections 112-116 → 67, 35 → 28, 35 → 25 µs (one 61 → 65),
// ResNet-50's 1.34-1.41 → 1.20-1.24 and 1.19-1.27 → 1.15 ms (step CPU times,
// two alternated runs).

import (
	"sync/atomic"
)

// narrowIdxMaxK bounds the reduction of the indexed path: its tiles run the
// whole reduction against one 16-wide weight panel (no blocking of K), which
// should stay in L2 (4096 steps: 256 KB).
const narrowIdxMaxK = 4096

// narrowIdx is the plan cache of a rowsConvKernel's indexed path, shared by
// the copies later fusions make of the kernel (the plan depends only on the
// geometry).
type narrowIdx struct {
	plan atomic.Pointer[groupedIdxPlan]
}

// runNarrow computes the convolution on the indexed path when it applies
// (see runIdx for the arguments) and reports whether it did.
func (k *rowsConvKernel) runNarrow(ctx *ExecContext, xd []float32, h, wd, sx int, p *convPlan, n, so, yo int, ynh, gemmRes []float32, resLater bool) bool {
	// 1x1 convolutions with a stride or padding (ResNet's and RegNet's
	// stride-2 projections) too: their rows read the channels-last input in
	// place instead of a copy of the sampled pixels.
	if k.narrow == nil || k.kh*k.kw == 1 && (p.pointwise || !k.inNHWC) || k.pb.N()%k.pb.NR() != 0 || k.pb.K() > narrowIdxMaxK ||
		k.bias != nil && len(k.bias) < k.pb.N() || len(p.out) != 2 {
		return false
	}
	is := h * wd * k.c
	if k.inNHWC {
		is = h * wd * sx
	}
	ic := &idxConv{kh: k.kh, kw: k.kw, c: k.c, inNHWC: k.inNHWC, blocks: k.narrowBlocks(),
		ep: &k.rowsEpilogue, plan: &k.narrow.plan, stem: k.isStem(), stem16: k.isStem() && !k.residual}
	return ic.runIdx(ctx, xd, is, h, wd, sx, p, n, so, yo, ynh, gemmRes, resLater)
}

// narrowBlocks is the weights of the indexed path as blocks of output
// channels: pb whole, or, for a 1x1 convolution whose columns take mixed
// panel widths (conv_rows_mixed.go), one block per part (sixteenth
// session). With pb alone, RegNet-X-400MF's stride-2 160 → 400 projection
// onto 7x7 ran 25 tiles of 6x16 (six accumulators, latency-bound: 36
// GMAC/s of thread CPU time in BenchmarkSmallMapConvs) where its
// stride-1 400 → 400 layers run 6x64, 6x48 and 6x32 tiles. The blocks read
// the same input channels; every output keeps its arithmetic (bias, one
// FMA per reduction step in order, then the epilogue).
func (k *rowsConvKernel) narrowBlocks() []groupBlock {
	if k.mixed == nil || k.kh*k.kw != 1 {
		return []groupBlock{{cn: k.c, pb: k.pb, bias: k.bias}}
	}
	blocks := make([]groupBlock, len(k.mixed))
	for i, p := range k.mixed {
		var bias []float32
		if k.bias != nil {
			bias = k.bias[p.col:]
		}
		blocks[i] = groupBlock{o0: p.col, cn: k.c, pb: p.pb, bias: bias}
	}
	return blocks
}
