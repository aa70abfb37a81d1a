package runtime

import "github.com/warboy-sim/warboy/kernels"

// Above one thread, the indexed path (conv_grouped_idx.go idxGemms) splits a
// convolution of one weight block (an ungrouped one) into work items. It
// split the output rows into ranges, each item running all the weight
// panels over its rows: on small maps with large weights every thread then
// streamed all of the weights, from memory where they exceed L2 (ResNet-50's
// stride-2 projection 1024 → 2048 onto 7x7: 8 MB of weights for 49 rows, 1.3x
// faster at two threads than at one, where ONNX Runtime's is 2.2x). Where the
// weights outweigh the rows (more output channels than output pixels), the
// items are ranges of weight panels instead, each over all the rows, so that
// each panel is read by one thread once (thirteenth session).

// idxColumnChunks returns the number of panel ranges each weight block is
// split into: 1 (the rows are split instead) unless there is one block, more
// output channels than output pixels in its row sets, and at least two
// panels per thread's share.
func idxColumnChunks(blocks []groupBlock, sets []idxRows, threads int) int {
	if threads <= 1 || len(blocks) != 1 || blocks[0].pb == nil {
		return 1
	}
	pb := blocks[0].pb
	panels := pb.N() / pb.NR()
	rows := 0
	for _, s := range sets {
		rows += len(s.aoff)
	}
	if pb.N() <= rows || panels < 2 {
		return 1
	}
	return min(panels, 2*threads)
}

// idxColumns returns panel range ci of cols of block blk: its weights, its
// bias (nil without one) and the offset of its first output channel in a
// pixel.
func idxColumns(blk *groupBlock, ci, cols int) (*kernels.RowsB, []float32, int) {
	if cols == 1 {
		return blk.pb, blk.bias, blk.o0
	}
	nr := blk.pb.NR()
	panels := blk.pb.N() / nr
	c0, c1 := ci*panels/cols*nr, (ci+1)*panels/cols*nr
	bias := blk.bias
	if bias != nil {
		bias = bias[c0:]
	}
	return blk.pb.Panels(c0, c1), bias, blk.o0 + c0
}

// patchesMinFloats is the patch data (floats) from which the border patches
// are copied on more than one thread.
const patchesMinFloats = 1 << 15

// fillPatches copies the border pixels' patches of the direct plan (stems
// from their NCHW input) into buf, in ranges of border pixels over the
// threads when there are enough of them: copied on one thread before the
// GEMM, they were a serial 40-60 µs of each of ResNet-50's 3x3 layers (220
// border pixels of 9·64 floats at 56x56, 52 of 9·256 at 14x14) while the
// other thread waited (thirteenth session).
func (k *idxConv) fillPatches(pl *groupedIdxPlan, p *convPlan, x, buf []float32, threads int) {
	fill := k.patches
	if pl.nchw {
		fill = k.stemPatches
	}
	nb := len(pl.border)
	th := 1
	if threads > 1 && nb*pl.patchLen >= patchesMinFloats {
		th = min(threads, nb)
	}
	if th <= 1 {
		fill(pl, p, x, buf, 0, nb)
		return
	}
	nnParallel(th, nb, func(j0, j1 int) { fill(pl, p, x, buf, j0, j1) })
}
