package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkRunParallel is the round trip of handing an empty job to the pool
// and waiting for it.
func BenchmarkRunParallel(b *testing.B) {
	for b.Loop() {
		runParallel(2, func() {})
	}
}

// TestRunParallelRunsEveryInvocation checks that fn runs exactly n times
// whether the pool workers are free or busy (then the caller runs the
// invocations nobody claimed), and that parallelFor and parallelChunks cover
// their range once, from concurrent callers.
func TestRunParallelRunsEveryInvocation(t *testing.T) {
	for _, n := range []int{1, 2, 3, 8} {
		var calls atomic.Int64
		runParallel(n, func() { calls.Add(1) })
		if !assert.Equal(quietT{}, int64(n), calls.Load()) {
			require.Equal(t, int64(n), calls.Load(), "n=%d", n)
		}
	}
	// Keep every worker busy: the second call must not wait for them.
	release := make(chan struct{})
	var busy sync.WaitGroup
	busy.Add(1)
	go func() {
		defer busy.Done()
		runParallel(len(pool.workers)+1, func() { <-release })
	}()
	var calls atomic.Int64
	done := make(chan struct{})
	go func() {
		runParallel(4, func() { calls.Add(1) })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("runParallel waited for busy workers")
	}
	require.Equal(t, int64(4), calls.Load())
	for i := 0; i < len(pool.workers)+1; i++ {
		release <- struct{}{}
	}
	busy.Wait()

	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range []int{0, 1, 5, 100, 1001} {
				seen := make([]atomic.Int32, n)
				parallelFor(n, 3, 3, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
				})
				parallelChunks(n, 7, 3, func(next func() (int, int, bool)) {
					for lo, hi, ok := next(); ok; lo, hi, ok = next() {
						for i := lo; i < hi; i++ {
							seen[i].Add(1)
						}
					}
				})
				for i := range seen {
					if !assert.Equal(quietT{}, int32(2), seen[i].Load()) {
						require.Equal(t, int32(2), seen[i].Load(), "n=%d i=%d", n, i)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestParallelRangeCoversOnce checks that ParallelRange covers [0, n) once in
// chunks of at least grain units (the last excepted), inline below 2·grain,
// from concurrent callers.
func TestParallelRangeCoversOnce(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tc := range []struct{ n, grain, threads int }{
				{0, 1, 2}, {1, 1, 2}, {7, 1, 2}, {49, 4, 2}, {1000, 100, 2}, {1000, 600, 2}, {5000, 64, 3}, {100, 1, 0},
			} {
				seen := make([]atomic.Int32, tc.n)
				var chunks atomic.Int32
				ParallelRange(tc.n, tc.grain, tc.threads, func(lo, hi int) {
					chunks.Add(1)
					if hi < tc.n {
						require.GreaterOrEqual(t, hi-lo, tc.grain)
					}
					for i := lo; i < hi; i++ {
						seen[i].Add(1)
					}
				})
				for i := range seen {
					if !assert.Equal(quietT{}, int32(1), seen[i].Load()) {
						require.Equal(t, int32(1), seen[i].Load(), "%+v i=%d", tc, i)
					}
				}
				if tc.n < 2*tc.grain {
					if !assert.Equal(quietT{}, int32(1), chunks.Load()) {
						require.Equal(t, int32(1), chunks.Load(), "%+v runs inline", tc)
					}
				}
			}
		}()
	}
	wg.Wait()
}
