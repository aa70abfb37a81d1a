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
// them awake. The spin is short: the executor's parallel calls follow each
// other within microseconds while a model runs, and on a shared machine a
// worker that spins longer is the thread the OS preempts, often while it
// holds a chunk the caller then waits for. MobileNetV2 at 2 threads, same
// process, load average 3.8, p50 of 20 runs (two alternating passes): spin
// 0 11.5-13.6 ms, 30 µs 12.0-12.4, 100 µs 13.4-14.5, 1 ms 20.3-20.9 (one
// thread: 10.0-11.3).
const workerSpin = 30 * time.Microsecond

// poolJob is one runParallel call: n-1 invocations of fn (the caller runs
// the first), claimed one at a time by pool workers or, once it is done with
// its own, by the caller. A worker that is asleep or descheduled when the job
// is posted therefore never delays it: the caller runs the invocations nobody
// has claimed instead of waiting for that worker to wake up (on a shared
// 2-core machine that wait, not the work, was most of a small layer's time at
// 2 threads), and a worker that comes late finds nothing left and moves on.
type poolJob struct {
	fn        func()
	unclaimed atomic.Int64
	wg        sync.WaitGroup
}

// claim takes one unclaimed invocation.
func (j *poolJob) claim() bool {
	for {
		u := j.unclaimed.Load()
		if u <= 0 {
			return false
		}
		if j.unclaimed.CompareAndSwap(u, u-1) {
			return true
		}
	}
}

// runClaimed runs the invocations this goroutine can claim.
func (j *poolJob) runClaimed() {
	for j.claim() {
		j.fn()
		j.wg.Done()
	}
}

var pool struct {
	once    sync.Once
	ch      chan *poolJob
	workers int
}

func startPool() {
	pool.workers = max(runtime.GOMAXPROCS(0)-1, 1)
	pool.ch = make(chan *poolJob, 64)
	for i := 0; i < pool.workers; i++ {
		go poolWorker()
	}
}

func poolWorker() {
	for {
		var j *poolJob
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
		if j.claim() {
			j.fn()
			j.wg.Done()
		}
	}
}

// runParallel runs fn n times concurrently: on the caller's goroutine and on
// pool workers (extra goroutines beyond the pool), and returns when all n
// have finished. Invocations no worker has started when the caller is done
// with its own run on the caller.
func runParallel(n int, fn func()) {
	if n <= 1 {
		fn()
		return
	}
	pool.once.Do(startPool)
	j := &poolJob{fn: fn}
	j.unclaimed.Store(int64(n - 1))
	j.wg.Add(n - 1)
	for i := 0; i < n-1; i++ {
		if i < pool.workers {
			select {
			case pool.ch <- j:
			default: // queue full: the caller or a spawned goroutine claims it
			}
			continue
		}
		go j.runClaimed()
	}
	fn()
	j.runClaimed()
	j.wg.Wait()
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

// ParallelRange runs fn over [0, n) in contiguous chunks [lo, hi) on up to
// threads threads of the pool (the caller's included), for the executor's
// loops that are not kernels of this package (elementwise passes, pooling,
// layout conversions, copies). A chunk has at least grain units and there are
// about four per thread, claimed one at a time, so that a thread that starts
// late (a worker woken from sleep or descheduled by the OS) still takes part
// and the caller never waits for it: the ranges nobody claimed run on the
// caller. Fewer than 2·grain units run inline. threads <= 0 means GOMAXPROCS.
func ParallelRange(n, grain, threads int, fn func(lo, hi int)) {
	grain = max(grain, 1)
	threads = resolveThreads(threads)
	if threads <= 1 || n < 2*grain {
		fn(0, n)
		return
	}
	chunk := max(grain, (n+4*threads-1)/(4*threads))
	parallelChunks(n, chunk, threads, func(next func() (int, int, bool)) {
		for lo, hi, ok := next(); ok; lo, hi, ok = next() {
			fn(lo, hi)
		}
	})
}
