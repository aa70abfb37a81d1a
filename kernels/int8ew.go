package kernels

// ParallelRows runs fn over [0, n) split into at most threads contiguous
// ranges of at least minChunk items each (one range when n < 2·minChunk), on
// the kernels' worker pool (threads <= 0: GOMAXPROCS). The pool's workers stay
// awake between back-to-back calls, which matters for the many small
// elementwise operators of a CNN: starting fresh goroutines for each of them
// wakes an idle vCPU every time. fn must not call ParallelRows or a
// multi-threaded kernel itself: the pool's workers do not run nested jobs
// while they wait.
func ParallelRows(n, minChunk, threads int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	threads = min(resolveThreads(threads), max(1, n/max(minChunk, 1)))
	parallelFor(n, 1, threads, fn)
}
