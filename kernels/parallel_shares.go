package kernels

import "sync/atomic"

// shares is [0, n) split in contiguous shares of about equal length, one per
// thread, each handed out from both ends: its owner takes from the front,
// the other threads (once their own share is done) from the back, so that
// an owner runs its share's first items in order and a thief takes the
// ones the owner would reach last.
type shares struct {
	s []shareState
}

// shareState is one share's unclaimed items [lo, hi), packed as lo<<32 | hi.
type shareState struct {
	items atomic.Uint64
	_     [56]byte // shares on separate cache lines
}

// newShares splits [0, n) in threads shares: share s is [n·s/threads,
// n·(s+1)/threads).
func newShares(n, threads int) *shares {
	sh := &shares{s: make([]shareState, threads)}
	for i := range sh.s {
		lo, hi := n*i/threads, n*(i+1)/threads
		sh.s[i].items.Store(uint64(lo)<<32 | uint64(hi))
	}
	return sh
}

// boundShares makes the shares [bnd[s], bnd[s+1]).
func boundShares(bnd []int) *shares {
	sh := &shares{s: make([]shareState, len(bnd)-1)}
	for i := range sh.s {
		sh.s[i].items.Store(uint64(bnd[i])<<32 | uint64(bnd[i+1]))
	}
	return sh
}

// take claims share s's first unclaimed item (front) or its last, and
// reports false when the share has none left.
func (sh *shares) take(s int, front bool) (int, bool) {
	st := &sh.s[s].items
	for {
		v := st.Load()
		lo, hi := int(v>>32), int(v&0xffffffff)
		if lo >= hi {
			return 0, false
		}
		i, nv := lo, uint64(lo+1)<<32|uint64(hi)
		if !front {
			i, nv = hi-1, uint64(lo)<<32|uint64(hi-1)
		}
		if st.CompareAndSwap(v, nv) {
			return i, true
		}
	}
}

// ParallelChunks runs worker on up to threads threads of the pool (the
// caller's included, threads <= 0 meaning GOMAXPROCS); each worker pulls
// chunks [lo, hi) of [0, n) of the given size from next until it reports
// false. The chunks are dealt in contiguous shares, the first to the
// caller, each thread taking its own share from the front and then what is
// left of the others from their backs (parallelChunks): for the executor's
// loops over the rows of a map, so that a thread's rows are the same from
// layer to layer. A worker's setup (scratch buffers) runs once per thread.
func ParallelChunks(n, chunk, threads int, worker func(next func() (lo, hi int, ok bool))) {
	if n <= 0 {
		return
	}
	parallelChunks(n, chunk, resolveThreads(threads), worker)
}

// ParallelItems runs items [0, n) (n = len(work)) on up to threads threads of
// the pool, as ParallelChunks does chunks of one item, with the shares cut at
// equal work instead of equal counts (work[i] is item i's, in any unit):
// for items of unequal sizes, such as a convolution's interior rows and its
// few border pixels, where shares of equal counts gave one thread the
// interior and the other the border. worker runs once per thread and pulls
// the items from next.
func ParallelItems(work []int, threads int, worker func(next func() (i int, ok bool))) {
	n := len(work)
	threads = max(1, min(resolveThreads(threads), n))
	if threads == 1 {
		i := 0
		worker(func() (int, bool) {
			if i >= n {
				return 0, false
			}
			i++
			return i - 1, true
		})
		return
	}
	bnd := workBounds(work, threads)
	sh := boundShares(bnd)
	runParallelID(threads, func(id int) {
		worker(sh.next(id, threads))
	})
}

// workBounds returns the share boundaries of items of the given work: share
// s ends at the item boundary nearest to s equal shares of the total, and
// none is empty while there are as many items as shares.
func workBounds(work []int, threads int) []int {
	n := len(work)
	total := 0
	for _, w := range work {
		total += max(w, 0)
	}
	bnd := make([]int, threads+1)
	bnd[threads] = n
	for s, i, cum := 1, 0, 0; s < threads; s++ {
		for i < n && ((cum+max(work[i], 0))*threads <= total*s || total*s-cum*threads > (cum+max(work[i], 0))*threads-total*s) {
			cum += max(work[i], 0)
			i++
		}
		bnd[s] = min(max(i, bnd[s-1]+1), n-(threads-s))
	}
	return bnd
}

// next returns the item source of invocation own of threads: its share
// from the front, then the others' from their backs.
func (sh *shares) next(own, threads int) func() (int, bool) {
	from, front := own, true
	return func() (int, bool) {
		for {
			if i, ok := sh.take(from, front); ok {
				return i, true
			}
			front = false
			from = (from + 1) % threads
			if from == own {
				return 0, false
			}
		}
	}
}
