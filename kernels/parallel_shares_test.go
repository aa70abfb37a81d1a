package kernels

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParallelChunksShares: every chunk of [0, n) runs exactly once, on 1-5
// threads, and the caller's first chunk is the first one (its share is the
// front of the range, call after call), unless the others stole all of it.
func TestParallelChunksShares(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 1))
	for trial := 0; trial < 200; trial++ {
		n, chunk, threads := r.IntN(300), 1+r.IntN(20), 1+r.IntN(5)
		seen := make([]atomic.Int32, n)
		callerFirst := -1
		self := goid()
		ParallelChunks(n, chunk, threads, func(next func() (int, int, bool)) {
			me := goid() == self
			first := true
			for lo, hi, ok := next(); ok; lo, hi, ok = next() {
				require.True(t, lo < hi && hi <= n && (lo%chunk == 0), "chunk [%d, %d) of %d by %d", lo, hi, n, chunk)
				if me && first {
					callerFirst = lo
				}
				first = false
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
			}
		})
		for i := range seen {
			require.Equal(t, int32(1), seen[i].Load(), "n=%d chunk=%d threads=%d: element %d", n, chunk, threads, i)
		}
		// -1: the others took the whole of the caller's share from its back
		// before it started (it was descheduled).
		require.Contains(t, []int{0, -1}, callerFirst, "the caller starts at the front: n=%d chunk=%d threads=%d", n, chunk, threads)
	}
}

// TestParallelItemsShares: every item runs exactly once, and the shares are
// cut at about equal work (workBounds: each share within one item of the
// equal split, none empty).
func TestParallelItemsShares(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 2))
	for trial := 0; trial < 200; trial++ {
		n, threads := 1+r.IntN(80), 1+r.IntN(5)
		work := make([]int, n)
		maxW := 0
		for i := range work {
			work[i] = r.IntN(100)
			if r.IntN(4) == 0 {
				work[i] = 1000 + r.IntN(1000) // a few large items (a map's interior)
			}
			maxW = max(maxW, work[i])
		}
		seen := make([]atomic.Int32, n)
		ParallelItems(work, threads, func(next func() (int, bool)) {
			for i, ok := next(); ok; i, ok = next() {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			require.Equal(t, int32(1), seen[i].Load(), "n=%d threads=%d: item %d", n, threads, i)
		}
		th := min(threads, n)
		bnd := workBounds(work, th)
		total := 0
		for _, w := range work {
			total += w
		}
		require.Equal(t, 0, bnd[0])
		require.Equal(t, n, bnd[th])
		for s := 1; s <= th; s++ {
			require.Less(t, bnd[s-1], bnd[s], "share %d of %v empty", s-1, bnd)
		}
		for s := 1; s < th; s++ {
			cum := 0
			for _, w := range work[:bnd[s]] {
				cum += w
			}
			// Within one item of the ideal cut, unless non-emptiness moved it.
			if bnd[s] != bnd[s-1]+1 && bnd[s] != n-(th-s) {
				require.LessOrEqual(t, abs(cum*th-total*s), maxW*th, "share boundary %d of %v (work %v)", s, bnd, work)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// goid is the current goroutine's id (from its stack header).
func goid() int {
	var b [64]byte
	f := bytes.Fields(b[:runtime.Stack(b[:], false)])
	id, _ := strconv.Atoi(string(f[1]))
	return id
}
