package runtime

// Grouped convolutions on the reduced indexed tiles (fourteenth session):
// kernels.SgemmRowsIdxRed broadcasts P = 2 or 4 consecutive input channels
// of a group a step, each lane adding one of them, so that a 16-lane vector
// holds 16/P outputs of one group (as P partial sums, added in the tile's
// epilogue). Groups narrower than 16 outputs then need no block-diagonal
// zeros: RegNet-Y-400MF's and ResNeXt's groups of 8 ran in 16-lane blocks
// of two groups (half the multiply-adds on zeros), ResNeXt's groups of 4 in
// blocks of four (three quarters), RegNet-Y-1.6GF's groups of 24 in 48-lane
// blocks of two (half). Groups of 16 run two a tile with one broadcast for
// two FMAs where the paired tile (conv_grouped_pair.go) had one for one.
// Wider groups are cut into chunks of at most four vectors a row.

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// reducedGroupTiles switches the reduced tiles on (tests switch them off
// to check the merged, spread and paired blocks on this CPU too).
var reducedGroupTiles = true

// redBandRows is the band of output rows every reduced block runs over
// before the next band (idxGemms).
const redBandRows = 96

// redPlan is how a grouped convolution runs on the reduced tiles: P input
// channels a step, tiles of ngrp whole groups (ngrp > 1: groups of 4, 8 or
// 16 outputs) or of chunks of at most chunk outputs of one group.
type redPlan struct {
	p, ngrp, chunk int
}

// planRed returns the reduced-tile plan of groups of mg outputs from cg
// input channels, or false where the tiles do not apply or do not pay:
// outputs that are whole 48- or 64-lane panels a group run one broadcast
// for three or four FMAs on the wide panels already, with no epilogue.
func planRed(mg, cg int) (redPlan, bool) {
	if !reducedGroupTiles || !kernels.RowsRedFast() || mg%16 == 0 && mg >= 48 {
		return redPlan{}, false
	}
	switch {
	case mg == 4 && cg%4 == 0:
		return redPlan{p: 4, ngrp: 4}, true
	case mg == 8 && cg%4 == 0:
		return redPlan{p: 4, ngrp: 2}, true
	case mg == 8 && cg%2 == 0:
		return redPlan{p: 2, ngrp: 2}, true
	case mg == 16 && cg%2 == 0:
		return redPlan{p: 2, ngrp: 2}, true
	case mg%8 == 0 && cg%2 == 0:
		return redPlan{p: 2, ngrp: 1, chunk: 32}, true
	case mg%4 == 0 && cg%4 == 0:
		return redPlan{p: 4, ngrp: 1, chunk: 16}, true
	}
	return redPlan{}, false
}

// redBlocks returns the blocks of a grouped convolution on the reduced
// tiles (w: [m][cg][kh][kw], b: the bias or nil), or nil where planRed
// declines.
func redBlocks(w, b *graph.Tensor, groups int) []groupBlock {
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	mg := m / groups
	pl, ok := planRed(mg, cg)
	if !ok {
		return nil
	}
	taps := kh * kw
	wd := w.F32()
	var bd []float32
	if b != nil {
		bd = b.F32()
	}
	k := taps * cg / pl.p
	// wtOf is outputs [j0, j0+n) of group g as [taps·cg][n], rows in the
	// order of the step offsets (tap, then channel).
	wtOf := func(g, j0, n int) ([]float32, []float32) {
		wt := make([]float32, taps*cg*n)
		for j := 0; j < n; j++ {
			o := g*mg + j0 + j
			for ci := 0; ci < cg; ci++ {
				for t := 0; t < taps; t++ {
					wt[(t*cg+ci)*n+j] = wd[(o*cg+ci)*taps+t]
				}
			}
		}
		if bd == nil {
			return wt, nil
		}
		return wt, bd[g*mg+j0 : g*mg+j0+n]
	}
	var blocks []groupBlock
	add := func(g0, ng, j0, n int) {
		ws, bs := make([][]float32, ng), make([][]float32, ng)
		for g := range ws {
			ws[g], bs[g] = wtOf(g0+g, j0, n)
		}
		if bd == nil {
			bs = nil
		}
		blocks = append(blocks, groupBlock{o0: g0*mg + j0, c0: g0 * cg, cn: cg, dc: cg, red: pl.p,
			rw: kernels.PackRowsRed(pl.p, ng, n, k, ws, bs)})
	}
	if pl.ngrp > 1 {
		for g0 := 0; g0 < groups; g0 += pl.ngrp {
			add(g0, min(pl.ngrp, groups-g0), 0, mg)
		}
		return blocks
	}
	for g := 0; g < groups; g++ {
		for j0 := 0; j0 < mg; j0 += pl.chunk {
			add(g, 1, j0, min(pl.chunk, mg-j0))
		}
	}
	return blocks
}

// redOffsets returns the step offsets of a reduced block of cn input
// channels a group, P a step: step t·(cn/P) + q reads channels q·P ..
// q·P+P-1 under tap t (tapOff(t): the tap's offset from the pixel).
func redOffsets(taps, cn, p int, tapOff func(t int) int) []int32 {
	o := make([]int32, taps*cn/p)
	for t := 0; t < taps; t++ {
		for q := 0; q < cn/p; q++ {
			o[t*(cn/p)+q] = int32(tapOff(t) + q*p)
		}
	}
	return o
}

// offKey is the key of a block's step offsets in idxRows.offs: the block
// width for the tiles that read one channel a step, -(width·8 + P) for the
// reduced ones.
func (b *groupBlock) offKey() int {
	if b.red > 0 {
		return -(b.cn*8 + b.red)
	}
	return b.cn
}

// clearPadding zeroes channels [m, so) of npx pixels of y (pixel stride so).
func clearPadding(y []float32, npx, m, so int) {
	for p := 0; p < npx; p++ {
		clear(y[p*so+m : (p+1)*so])
	}
}
