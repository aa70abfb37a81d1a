package kernels

import (
	"fmt"
	"sync/atomic"
)

// Products of few rows: the 1x1 convolutions of 7x7 and 14x14 maps (49 or
// 196 output pixels: one block of row tiles) against hundreds of kilobytes
// to megabytes of weights, which in a run of a whole model come from L3,
// not L2 (RegNet-X-400MF's 400 → 400 layers: 640 KB each, 22 MB of weights
// in the model; fifteenth session). Their time is the weights' stream more
// than the FMAs, so the weight panels run in long chains in which every
// panel's tiles prefetch the next panel's first block (rowsCall.then):
//
//   - on one thread, the parts of different panel widths (mixed panels of
//     400 = 320 + 48 + 32 columns) run as one chain, where each part was a
//     call of its own whose first panel came cold from L3;
//   - on more threads, the panels (of every part) are split in contiguous
//     runs of about equal width, one per thread, each a chain; a thread
//     done with its own run takes panels from the back of the others'. The
//     split by dynamic items of a few panels (rowsPanelBlock) started a
//     chain cold on every item, and a thread never had the next panel's
//     weights coming.

// rowsChainPrefetchFloats is the size of the weights (64 KB) from which the
// panels of a chain prefetch the next one. A model's weights pass through L2
// between two runs of a layer (RegNet-X-400MF: 22 MB against 2 MB of L2), so
// a layer's weights come from L3 unless the whole model fits L2 (where the
// prefetch costs a load slot per four steps).
const rowsChainPrefetchFloats = 1 << 14

// RowsPart is columns [Col, Col+B.N()) of a product whose weights are packed
// in parts of different panel widths (PackRowsB per part).
type RowsPart struct {
	B   *RowsB
	Col int
}

// SgemmRowsPartsAct is SgemmRowsAct over the columns of every part: for
// each part, columns [Col, Col+B.N()) of C, the bias and the residual take
// the product with B (same arguments as SgemmRowsAct otherwise; every B of
// the same K). Each output has the arithmetic of SgemmRowsAct on its part.
func SgemmRowsPartsAct(parts []RowsPart, x []float32, lda int, off []int32, m int, bias, c []float32, ldc int, res []float32, clip bool, lo, hi float32, act Act, threads int) {
	if m <= 0 || len(parts) == 0 {
		return
	}
	threads = resolveThreads(threads)
	k := parts[0].B.k
	rcs := make([]*rowsCall, 0, len(parts))
	n, floats := 0, 0
	for _, p := range parts {
		end := p.Col + p.B.n
		if p.B.k != k || p.Col < 0 || end > ldc || bias != nil && len(bias) < end || res != nil && len(res) < end || len(c) < end {
			panic(fmt.Sprintf("kernels.SgemmRowsPartsAct: part of %d×%d at column %d does not fit (K %d, ldc %d, bias %d, res %d, C %d)",
				p.B.k, p.B.n, p.Col, k, ldc, len(bias), len(res), len(c)))
		}
		var bp, rp []float32
		if bias != nil {
			bp = bias[p.Col:]
		}
		if res != nil {
			rp = res[p.Col:]
		}
		rc, release := newRowsCall(p.B, x, lda, off, m, bp, c[p.Col:], ldc, rp, clip, lo, hi, act, threads)
		defer release()
		if rc != nil {
			rcs = append(rcs, rc)
			n += p.B.n
			floats += len(p.B.data)
		}
	}
	if len(rcs) == 0 {
		return // single rows: done by the one-row product
	}
	tiles := rcs[0].tiles
	qb := rowsTileBlock(tiles, rowsTilesInL2(tiles, k, lda, rcs[0].maxOff, rcs[0].pb.nr), k, n, threads)
	if qb < tiles {
		// Several blocks of rows: each part runs as SgemmRowsAct does.
		for _, rc := range rcs {
			rc.run(threads)
		}
		return
	}
	runRowsPanels(rcs, floats >= rowsChainPrefetchFloats, threads)
}

// run is SgemmRowsAct's schedule of rc on threads threads.
func (rc *rowsCall) run(threads int) {
	tiles, nr, n := rc.tiles, rc.pb.nr, rc.pb.n
	panels := (n + nr - 1) / nr
	qb := rowsTileBlock(tiles, rowsTilesInL2(tiles, rc.pb.k, rc.lda, rc.maxOff, nr), rc.pb.k, n, threads)
	qblocks := (tiles + qb - 1) / qb
	if qblocks == 1 && threads > 1 && panels > 1 {
		// One block of rows (a 7x7 or 14x14 map): the threads split the
		// weight panels in contiguous chains.
		runRowsPanels([]*rowsCall{rc}, len(rc.pb.data) >= rowsChainPrefetchFloats, threads)
		return
	}
	pbk := rowsPanelBlock(qblocks, panels, threads)
	pblocks := (panels + pbk - 1) / pbk
	parallelChunks(qblocks*pblocks, 1, threads, func(next func() (int, int, bool)) {
		scratch := rowsScratchPool.Get().(*rowsScratch)
		defer rowsScratchPool.Put(scratch)
		for it, _, ok := next(); ok; it, _, ok = next() {
			qi, pi := it/pblocks, it%pblocks
			rc.block(scratch, qi*qb, min(tiles, (qi+1)*qb), pi*pbk, min(panels, (pi+1)*pbk))
		}
	})
}

// firstBlock is the weights of panel p's first reduction block (the one
// rowsCall.block runs first on it).
func (rc *rowsCall) firstBlock(p int) []float32 {
	k, nr := rc.pb.k, rc.pb.nr
	nkb := max(1, (k+rowsKC(nr)-1)/rowsKC(nr))
	return rc.pb.data[p*k*nr : (p*k+k/nkb)*nr]
}

// rowsPanel is one weight panel of one of runRowsPanels' calls.
type rowsPanel struct{ call, p int }

// runRowsPanels computes every row tile of every panel of the calls (all of
// one block of rows), in that order as one chain on one thread, or split in
// contiguous chains of about equal width over threads. prefetch makes each
// panel's tiles prefetch the next one of the chain (whatever the size of
// the weights: the caller decides they are not in cache).
func runRowsPanels(rcs []*rowsCall, prefetch bool, threads int) {
	var items []rowsPanel
	var cum []int // columns before each item
	width := 0
	for i, rc := range rcs {
		nr := rc.pb.nr
		for p := 0; p*nr < rc.pb.n; p++ {
			items = append(items, rowsPanel{i, p})
			cum = append(cum, width)
			width += min(nr, rc.pb.n-p*nr)
		}
	}
	call := func(i int) *rowsCall {
		cp := *rcs[i]
		cp.prefetch = prefetch
		return &cp
	}
	threads = min(threads, len(items))
	if threads <= 1 {
		s := rowsScratchPool.Get().(*rowsScratch)
		defer rowsScratchPool.Put(s)
		for i := range rcs {
			rc := call(i)
			if prefetch && i+1 < len(rcs) {
				rc.then = rcs[i+1].firstBlock(0)
			}
			rc.block(s, 0, rc.tiles, 0, (rc.pb.n+rc.pb.nr-1)/rc.pb.nr)
		}
		return
	}
	// Chain s is items [bnd[s], bnd[s+1]): each boundary is the item start
	// nearest to s equal shares of the columns (400 = 5·64 + 48 + 32 on two
	// threads: 192 and 208 columns).
	bnd := make([]int, threads+1)
	cum = append(cum, width)
	for s, i := 1, 0; s < threads; s++ {
		for i < len(items) && (cum[i+1]*threads <= width*s || width*s-cum[i]*threads > cum[i+1]*threads-width*s) {
			i++
		}
		bnd[s] = max(i, bnd[s-1])
	}
	bnd[threads] = len(items)
	// The unclaimed items of chain s are [lo, hi), packed as lo<<32 | hi:
	// its thread takes them from the front, the others from the back.
	chains := make([]atomic.Uint64, threads)
	for s := range chains {
		chains[s].Store(uint64(bnd[s])<<32 | uint64(bnd[s+1]))
	}
	take := func(s int, front bool) (int, bool) {
		for {
			v := chains[s].Load()
			lo, hi := int(v>>32), int(v&0xffffffff)
			if lo >= hi {
				return 0, false
			}
			i, nv := lo, uint64(lo+1)<<32|uint64(hi)
			if !front {
				i, nv = hi-1, uint64(lo)<<32|uint64(hi-1)
			}
			if chains[s].CompareAndSwap(v, nv) {
				return i, true
			}
		}
	}
	runItem := func(s *rowsScratch, i, next int) {
		it := items[i]
		rc := call(it.call)
		if prefetch && next >= 0 {
			nx := items[next]
			rc.then = rcs[nx.call].firstBlock(nx.p)
		}
		rc.block(s, 0, rc.tiles, it.p, it.p+1)
	}
	runParallelID(threads, func(own int) {
		s := rowsScratchPool.Get().(*rowsScratch)
		defer rowsScratchPool.Put(s)
		for i, ok := take(own, true); ok; i, ok = take(own, true) {
			next := -1
			if i+1 < bnd[own+1] {
				next = i + 1
			}
			runItem(s, i, next)
		}
		for d := 1; d < threads; d++ {
			v := (own + d) % threads
			for i, ok := take(v, false); ok; i, ok = take(v, false) {
				next := -1
				if i-1 >= bnd[v] {
					next = i - 1
				}
				runItem(s, i, next)
			}
		}
	})
}
