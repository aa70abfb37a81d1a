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
	fn, macs := peakLoop(dtype)
	if fn == nil {
		return 0
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const iters = 1 << 12
	best := 0.0
	for t0 := time.Now(); time.Since(t0) < d || best == 0; {
		b0 := time.Now()
		n := 0
		for time.Since(b0) < 5*time.Millisecond {
			fn(iters)
			n++
		}
		best = max(best, 2*float64(macs)*iters*float64(n)/time.Since(b0).Seconds()/1e9)
	}
	return best
}
