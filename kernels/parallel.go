package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Worker pool. Waking an idle thread costs tens of microseconds on a VM (the
// vCPU has halted), which is a large part of a 100 µs layer. Pool workers
// therefore spin (yielding) for workerSpin after each job before they block,
// like an OpenMP runtime's wait policy, so back-to-back kernel calls find
// them awake.
const workerSpin = 100 * time.Microsecond

type poolJob struct {
	fn func()
	wg *sync.WaitGroup
}

var pool struct {
	once    sync.Once
	ch      chan poolJob
	workers int
}

func startPool() {
	pool.workers = max(runtime.GOMAXPROCS(0)-1, 1)
	pool.ch = make(chan poolJob, 64)
	for i := 0; i < pool.workers; i++ {
		go poolWorker()
	}
}

func poolWorker() {
	for {
		var j poolJob
		deadline := time.Now().Add(workerSpin)
	spin:
		for {
			select {
			case j = <-pool.ch:
				break spin
			default:
				if time.Now().After(deadline) {
					j = <-pool.ch
					break spin
				}
				runtime.Gosched()
			}
		}
		j.fn()
		j.wg.Done()
	}
}

// runParallel runs fn on n goroutines: the caller's and n-1 others (pool
// workers first), and returns when all have finished.
func runParallel(n int, fn func()) {
	if n <= 1 {
		fn()
		return
	}
	pool.once.Do(startPool)
	var wg sync.WaitGroup
	wg.Add(n - 1)
	for i := 0; i < n-1; i++ {
		if i < pool.workers {
			pool.ch <- poolJob{fn: fn, wg: &wg}
			continue
		}
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	fn()
	wg.Wait()
}

// parallelFor runs fn(lo, hi) over [0, n) split into at most threads contiguous
// chunks whose boundaries are multiples of align (except the last).
func parallelFor(n, align, threads int, fn func(lo, hi int)) {
	align = max(align, 1)
	units := (n + align - 1) / align
	threads = min(threads, units)
	if threads <= 1 {
		fn(0, n)
		return
	}
	var next atomic.Int64
	runParallel(threads, func() {
		t := int(next.Add(1)) - 1
		lo := min(units*t/threads*align, n)
		hi := min(units*(t+1)/threads*align, n)
		fn(lo, hi)
	})
}

// parallelChunks runs worker on up to threads goroutines (the caller's
// included); each worker pulls chunks [lo, hi) of [0, n) of the given size
// from a shared counter until none is left. Dynamic assignment absorbs late
// starters and uneven progress on a shared machine.
func parallelChunks(n, chunk, threads int, worker func(next func() (lo, hi int, ok bool))) {
	chunk = max(chunk, 1)
	threads = min(threads, (n+chunk-1)/chunk)
	var ctr atomic.Int64
	next := func() (int, int, bool) {
		lo := int(ctr.Add(int64(chunk))) - chunk
		if lo >= n {
			return 0, 0, false
		}
		return lo, min(lo+chunk, n), true
	}
	runParallel(max(threads, 1), func() { worker(next) })
}
