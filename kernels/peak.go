package kernels

import (
	"runtime"
	"time"
)

// PeakGOPS measures the single-core peak of the inner instruction sequence of
// the current int8 ("int8") or float32 ("float32") micro-kernel: register
// operands only, independent accumulators (VPDPBUSD zmm for avx512vnni;
// VPMADDWD+VPADDD on int16 operands for avx2; VFMADD231PS ymm for float32). It returns the best of repeated 5 ms batches
// within d, in GOPS (2 ops per multiply-add), and 0 on the pure-Go path.
func PeakGOPS(dtype string, d time.Duration) float64 {
	t0 := time.Now()
	return PeakGOPSClock(dtype, d, func() int64 { return int64(time.Since(t0)) })
}

// PeakGOPSClock is PeakGOPS with the batches timed by now (nanoseconds, e.g.
// the calling thread's CPU time: on a loaded machine the wall clock of a
// 5 ms batch holds other processes' time slices and the peak comes out
// low). The calling goroutine is locked to its thread while it runs; d is
// measured by now as well.
func PeakGOPSClock(dtype string, d time.Duration, now func() int64) float64 {
	fn, macs := peakLoop(dtype)
	if fn == nil {
		return 0
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const iters = 1 << 12
	best := 0.0
	for t0 := now(); now()-t0 < int64(d) || best == 0; {
		b0 := now()
		n := 0
		for now()-b0 < int64(5*time.Millisecond) {
			for range 8 { // the clock may be a system call
				fn(iters)
			}
			n += 8
		}
		best = max(best, 2*float64(macs)*iters*float64(n)/(float64(now()-b0)/1e9)/1e9)
	}
	return best
}
