package runtime

// Grouped convolutions whose groups do not pack into 16-lane panels
// (thirteenth session). groupMerge puts f consecutive groups of mg outputs
// into one block whose f·mg columns fill whole panels, with block-diagonal
// weights: every output lane then runs the f·cg·taps steps of the whole
// block, f times its own group's. That pays when the merged lanes are
// otherwise wasted (groups of 4 or 8 in a 16-lane panel cost the same
// either way) but not when mg does not divide 16: groups of 7 outputs merge
// six at a time (42 outputs in 48 lanes, 6x the steps), groups of 24 two at
// a time (48 lanes where 32 would do), groups of 9 or 10 three to five.
// Such convolutions run one group per block instead, each in its own whole
// panels of a channels-last scratch (the groups spread out: ⌈mg/16⌉ panels
// each), and the groups' outputs are then gathered into the output's pixels
// with the residual, the clamp and the activation. Per output pixel that is
// groups·cg·taps·⌈mg/16⌉ vector steps instead of Σ_blocks f·cg·taps·panels.

import (
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// spreadGroups reports whether one group per block (of kdim = cg·taps
// reduction steps) pays: at least 2.5x fewer vector steps per output pixel
// than the merged blocks, on a reduction long enough that the tiles'
// fixed costs and the gather do not eat it. Timed both ways on the layers
// of grouped_dilated (32x32 maps, thread CPU time per run, loaded machine;
// docs/runtime.md, thirteenth session): groups of 7 from 5 channels, 5x5,
// 3x fewer steps: 632 → 381 µs; groups of 9 from 6, 3x3: 259 → 238; groups
// of 10 from 10, 3x3, 2x fewer: 182 → 190; groups of 3 from 21, 1x1: 108 →
// 215.
func spreadGroups(mg, groups, kdim int) bool {
	f := groupMerge(mg, groups)
	merged := 0
	for g0 := 0; g0 < groups; g0 += f {
		nf := min(f, groups-g0)
		merged += nf * ((nf*mg + 15) / 16)
	}
	spread := groups * ((mg + 15) / 16)
	return 2*merged >= 5*spread && kdim >= 48
}

// spreadBlocks returns one block per group: scratch columns from
// g·⌈mg/16⌉·16 (o0), input channels from g·cg, and the scratch pixel stride.
func spreadBlocks(w, b *graph.Tensor, groups int) ([]groupBlock, int) {
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	mg := m / groups
	np := (mg + 15) / 16 * 16
	taps := kh * kw
	wd := w.F32()
	blocks := make([]groupBlock, groups)
	wts := make([][]float32, groups)
	for g := range blocks {
		kdim := taps * cg
		wt := make([]float32, kdim*np)
		for o := 0; o < mg; o++ {
			for ci := 0; ci < cg; ci++ {
				for t := 0; t < taps; t++ {
					wt[(t*cg+ci)*np+o] = wd[((g*mg+o)*cg+ci)*taps+t]
				}
			}
		}
		blk := groupBlock{o0: g * np, c0: g * cg, cn: cg, pb: kernels.PackRowsB16(kdim, np, wt, np), bias: make([]float32, np)}
		if b != nil {
			copy(blk.bias, b.F32()[g*mg:(g+1)*mg])
		}
		blocks[g], wts[g] = blk, wt
	}
	return pairBlocks(blocks, wts), groups * np
}

// gatherSpread copies the groups' outputs of npx pixels from the scratch sc
// (pixel stride ss, group g at g·np) to y (pixel stride so, group g at
// g·mg), clears y's padding channels and, unless a residual is still to come
// (NCHW output with a residual: finish adds it), adds the channels-last
// residual res (nil for none) and applies the clamp and the activation.
func (k *groupedRowsKernel) gatherSpread(sc []float32, ss int, y []float32, so int, res []float32, npx int, epilogue bool, threads int) {
	mg := k.m / k.groups
	np := (mg + 15) / 16 * 16
	// The scratch column of every output channel: one indexed load each
	// (a copy call per group and pixel cost more than the GEMM saved on
	// groups of 3 to 10).
	idx := make([]int32, k.m)
	for o := range idx {
		idx[o] = int32(o/mg*np + o%mg)
	}
	nnParallel(min(threads, max(1, npx*k.m/parallelMinWork)), npx, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			dst, src := y[p*so:(p+1)*so], sc[p*ss:(p+1)*ss]
			for o, i := range idx {
				dst[o] = src[i]
			}
			clear(dst[k.m:])
			if !epilogue {
				continue
			}
			out := dst[:k.m]
			if res != nil {
				for j, r := range res[p*so : p*so+k.m] {
					out[j] += r
				}
			}
			if k.clip {
				for j, v := range out {
					out[j] = k.clamp(v)
				}
			}
			if k.post != kernels.ActNone {
				kernels.ActF32(k.post, out, out)
			}
		}
	})
}
