package runtime

// Grouped convolutions on small maps above one thread (seventeenth
// session). idxGemms hands out its work items (a block of output channels
// over a set of rows) from one counter, after rowsPlan.fill or fillPatches
// copied the input on all threads split by pixels. On RegNet-X-400MF's
// grouped 3x3 layers (7x7 and 14x14 maps, 30-60 µs a layer) the two threads
// then barely beat one (400 channels on 7x7: 38 → 34 µs, wall clock): the
// kernel itself scales (the blocks run on two pinned goroutines, each its
// half, in 18-21 µs against 38 for all on one), but
//
//   - a block's input channels had been laid out by whichever thread copied
//     those pixels, and its output lines were last written by whichever
//     thread ran the block in the previous call: half the lines a block
//     touched came from the other core's L2;
//   - the block of input channels the previous layer (a 1x1 convolution,
//     whose threads split the output channels in contiguous halves, the
//     caller the first: kernels.runRowsPanels) left in the caller's cache
//     went to either thread;
//   - the copy and the product were two parallel calls.
//
// Here the threads split the blocks in contiguous shares of about equal
// work (blocks over ranges of rows where there are few blocks), the first
// share to the caller, so that a thread's share is the same channels as its
// share of the neighbouring layers. A thread copies (laid-out input) or
// patches (border pixels of an input read in place) the input channels of
// its share's blocks in one pass, then runs its items; done, it takes items
// from the other shares, copying a block's channels itself where nobody
// has. One parallel call, and a late worker (descheduled, or woken from a
// park) costs nothing but its share, which the caller runs. Every output is
// computed as on one thread (same tiles, same order of the sums).

import (
	goruntime "runtime"
	"sync/atomic"

	"github.com/warboy-sim/warboy/kernels"
)

// idxShareMaxRows is the largest row set on which the blocks run in shares:
// up to 16x16 output maps. Larger maps keep idxGemms' items (bands of rows
// over every block: a thread's channels of a whole 56x56 map do not stay in
// L1 across its blocks, and with hundreds of rows per block the counter's
// items balance and amortise their copies already).
const idxShareMaxRows = 256

// blockInputs returns the input channels [lo, hi) that block b reads.
func blockInputs(b *groupBlock) (lo, hi int) {
	switch {
	case b.red > 0:
		return b.c0, b.c0 + (b.rw.Groups()-1)*b.dc + b.cn
	case b.pair:
		return b.c0, b.c0 + b.dc + b.cn
	}
	return b.c0, b.c0 + b.cn
}

// blockWork is a block's multiply-adds per row (its outputs times its
// reduction), the weight of its items.
func blockWork(b *groupBlock) int {
	if b.red > 0 {
		return b.rw.Outputs() * b.rw.K() * b.red
	}
	return b.pb.N() * b.pb.K()
}

// idxShareItemsPerThread is the number of work items per thread below which
// the blocks are cut into ranges of rows: RegNet-X-400MF's 160 channels (5
// blocks of two groups) were shares of 3 and 2 blocks. Only then: cutting
// its 400 channels (13 blocks) as well made the 7x7 layer slower at two
// threads (27.5 → 31 µs, BenchmarkConvThreads), the rows of a 7x7 map being
// five to nine tiles.
const idxShareItemsPerThread = 4

// idxItem is one work item of runShares: block b over rows [r0, r1) of
// row set set.
type idxItem struct {
	b, set, r0, r1 int
}

// idxSharePlan is how runShares splits a convolution's blocks over threads
// threads: the items in block order, share s being items [bnd[s],
// bnd[s+1]).
type idxSharePlan struct {
	items []idxItem
	bnd   []int
}

// idxShares returns the split of the blocks over threads shares, or nil
// where the blocks do not run in shares: one thread, fewer blocks than
// threads, an NCHW input (stems), large maps, or blocks whose input
// channels overlap or are out of order (the mixed panel widths of an
// ungrouped 1x1 convolution all read every channel).
func (k *idxConv) idxShares(pl *groupedIdxPlan, threads int) *idxSharePlan {
	nb := len(k.blocks)
	if threads <= 1 || nb < threads || !k.inNHWC || pl.nchw || len(pl.runs) > 0 {
		return nil
	}
	for _, st := range pl.sets {
		if len(st.aoff) > idxShareMaxRows {
			return nil
		}
	}
	prev := 0
	for i := range k.blocks {
		lo, hi := blockInputs(&k.blocks[i])
		if lo < prev || hi > k.c {
			return nil
		}
		prev = hi
	}
	// Rows of a set in at most chunks ranges of whole row tiles, and at
	// least two tiles each.
	chunks := max(1, (idxShareItemsPerThread*threads+nb-1)/nb)
	sp := &idxSharePlan{}
	var work []int
	total := 0
	for b := range k.blocks {
		bw := blockWork(&k.blocks[b])
		for si, st := range pl.sets {
			m := len(st.aoff)
			c := max(1, min(chunks, m/(2*6)))
			rows := ((m+c-1)/c + 5) / 6 * 6
			for r0 := 0; r0 < m; r0 += rows {
				r1 := min(m, r0+rows)
				sp.items = append(sp.items, idxItem{b, si, r0, r1})
				work = append(work, (r1-r0)*bw)
				total += (r1 - r0) * bw
			}
		}
	}
	// Boundary s is the item start nearest to s equal shares of the work.
	n := len(sp.items)
	sp.bnd = make([]int, threads+1)
	for s, i, cum := 1, 0, 0; s < threads; s++ {
		for i < n && ((cum+work[i])*threads <= total*s || total*s-cum*threads > (cum+work[i])*threads-total*s) {
			cum += work[i]
			i++
		}
		sp.bnd[s] = i
	}
	sp.bnd[threads] = n
	for s := 1; s <= threads; s++ {
		if sp.bnd[s] <= sp.bnd[s-1] {
			return nil // not enough work for every thread
		}
	}
	return sp
}

// idxShareState is one share of a call of runShares: its unclaimed items
// [lo, hi) packed as lo<<32 | hi.
type idxShareState struct {
	items atomic.Uint64
	_     [120]byte // shares on separate cache lines
}

// runShares is idxGemms in the shares of sp (from idxShares): the image's
// input xi, laid out (or its border patched) into buf block by block, into
// y.
func (k *idxConv) runShares(pl *groupedIdxPlan, p *convPlan, sp *idxSharePlan, xi, buf, y, res []float32, resLater bool, threads int) {
	post, clip := k.ep.post, k.ep.clip
	if resLater {
		post, clip = kernels.ActNone, false
	}
	ns := len(pl.sets)
	src := make([][]float32, ns)
	if pl.direct {
		src[0] = xi
		if ns > 1 {
			src[1] = buf
		}
	} else {
		for i := range src {
			src[i] = buf
		}
	}
	shares := make([]idxShareState, threads)
	for s := range shares {
		shares[s].items.Store(uint64(sp.bnd[s])<<32 | uint64(sp.bnd[s+1]))
	}
	// The copy of block b's input channels: 0 not started, 1 under way,
	// 2 done. A run of blocks claimed together is copied in one pass.
	copied := make([]atomic.Int32, len(k.blocks))
	copyBlocks := func(b0, b1 int) {
		lo, _ := blockInputs(&k.blocks[b0])
		_, hi := blockInputs(&k.blocks[b1-1])
		if pl.direct {
			k.patchChannels(pl, p, xi, buf, lo, hi)
		} else {
			pl.rp.fillChannels(p, xi, pl.sx, buf, lo, hi)
		}
		for b := b0; b < b1; b++ {
			copied[b].Store(2)
		}
	}
	// claim copies the blocks of share s that nobody has claimed.
	claim := func(s int) {
		b0, b1 := sp.items[sp.bnd[s]].b, sp.items[sp.bnd[s+1]-1].b+1
		for b := b0; b < b1; {
			if !copied[b].CompareAndSwap(0, 1) {
				b++
				continue
			}
			e := b + 1
			for e < b1 && copied[e].CompareAndSwap(0, 1) {
				e++
			}
			copyBlocks(b, e)
			b = e
		}
	}
	// ready returns once block b's input is copied: by this thread if
	// nobody has started it, else by the thread copying it (a few µs).
	ready := func(b int) {
		for {
			switch copied[b].Load() {
			case 2:
				return
			case 0:
				if copied[b].CompareAndSwap(0, 1) {
					copyBlocks(b, b+1)
					return
				}
			default:
				goruntime.Gosched()
			}
		}
	}
	take := func(s int, back bool) (int, bool) {
		sh := &shares[s]
		for {
			v := sh.items.Load()
			lo, hi := int(v>>32), int(v&0xffffffff)
			if lo >= hi {
				return 0, false
			}
			i, nv := lo, uint64(lo+1)<<32|uint64(hi)
			if back {
				i, nv = hi-1, uint64(lo)<<32|uint64(hi-1)
			}
			if sh.items.CompareAndSwap(v, nv) {
				return i, true
			}
		}
	}
	run := func(i int) {
		it := sp.items[i]
		ready(it.b)
		set := &pl.sets[it.set]
		k.runItem(&k.blocks[it.b], 0, 1, set, src[it.set], it.r0, it.r1, y, res, clip, post)
	}
	// Share s to invocation s of the pool (nnParallel's chunks are dealt
	// in shares: kernels.ParallelChunks), the first to the caller.
	nnParallel(threads, threads, func(own, _ int) {
		claim(own)
		// A share's first block may be its neighbour's last (rows split):
		// the owner runs its share from the back, so that block comes last,
		// and the others take from the front, where that neighbour's
		// copies are.
		for i, ok := take(own, true); ok; i, ok = take(own, true) {
			run(i)
		}
		for d := 1; d < threads; d++ {
			v := (own + d) % threads
			for i, ok := take(v, false); ok; i, ok = take(v, false) {
				run(i)
			}
		}
	})
}

// runItem runs block blk (panel range ci of cols) over rows [r0, r1) of
// row set set, reading src.
func (k *idxConv) runItem(blk *groupBlock, ci, cols int, set *idxRows, src []float32, r0, r1 int, y, res []float32, clip bool, post kernels.Act) {
	pb, bias, o0 := idxColumns(blk, ci, cols)
	var rb []float32
	if res != nil {
		rb = res[o0:]
	}
	switch {
	case blk.red > 0: // cols is 1 (conv_grouped_red.go)
		kernels.SgemmRowsIdxRed(blk.rw, src[blk.c0:], set.aoff[r0:r1], set.offs[blk.offKey()], blk.dc, y[o0:], set.coff[r0:r1], rb, clip, k.ep.lo, k.ep.hi, post)
	case blk.pair: // one 32-wide panel: cols is 1 (conv_grouped_pair.go)
		kernels.SgemmRowsIdxPair(pb, src[blk.c0:], set.aoff[r0:r1], set.offs[blk.cn], blk.dc, bias, y[o0:], set.coff[r0:r1], rb, clip, k.ep.lo, k.ep.hi, post)
	default:
		kernels.SgemmRowsIdx(pb, src[blk.c0:], set.aoff[r0:r1], set.offs[blk.cn], bias, y[o0:], set.coff[r0:r1], rb, clip, k.ep.lo, k.ep.hi, post)
	}
}

// patchChannels is patches over every border pixel for input channels
// [c0, c1) only.
func (k *idxConv) patchChannels(pl *groupedIdxPlan, p *convPlan, x, buf []float32, c0, c1 int) {
	ow := p.out[1]
	for j, q := range pl.border {
		y, xo := int(q)/ow, int(q)%ow
		dst := buf[j*pl.patchLen:]
		for t := 0; t < k.kh*k.kw; t++ {
			iy := y*p.s[0] - p.pb[0] + (t/k.kw)*p.d[0]
			ix := xo*p.s[1] - p.pb[1] + (t%k.kw)*p.d[1]
			d := dst[t*pl.sx+c0 : t*pl.sx+c1]
			if iy < 0 || ix < 0 || iy >= pl.h || ix >= pl.wd {
				clear(d)
				continue
			}
			copy(d, x[(iy*pl.wd+ix)*pl.sx+c0:])
		}
	}
}

// fillChannels is fill for a channels-last x (pixel stride sx) and input
// channels [c0, c1) only: those channels of every pixel of the phase
// planes, zeros in the padding.
func (rp *rowsPlan) fillChannels(p *convPlan, x []float32, sx int, buf []float32, c0, c1 int) {
	ih, iw := p.in[0], p.in[1]
	top, left := p.pb[0], p.pb[1]
	pp := rp.pph * rp.ppw * rp.sb
	rows := rp.nph * rp.pph
	for r := 0; r < rows; r++ {
		s, i := r/rp.pph, r%rp.pph
		a, b := rp.slotPhase(s)
		row := buf[s*pp+i*rp.ppw*rp.sb : s*pp+(i+1)*rp.ppw*rp.sb]
		y, jlo, jhi, ok := rp.phaseRow(i, a, b, top, left, ih, iw)
		if !ok {
			jlo, jhi = 0, 0
		}
		for j := 0; j < rp.ppw; j++ {
			d := row[j*rp.sb+c0 : j*rp.sb+c1]
			if j < jlo || j >= jhi {
				clear(d)
				continue
			}
			copy(d, x[(y*iw+j*rp.sw+b-left)*sx+c0:])
		}
	}
}
