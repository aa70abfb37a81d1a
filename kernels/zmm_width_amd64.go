//go:build amd64 && !purego && !noasm

package kernels

import (
	"sync"
	"time"
)

// zmmFullWidth reports whether this CPU's 512-bit FMAs have twice the
// float32 throughput of its 256-bit ones (two full-width zmm FMA units, as
// on Intel's server cores), measured once: the same number of independent
// zmm and ymm FMA instructions, alternately, best of 25 each. Where zmm
// FMAs are split in two 256-bit halves (AMD Zen 4) or run on a single
// 512-bit unit, one zmm per row of a 16-wide tile (six FMA chains) is slower
// than two ymm per row (twelve); where they are full width it is faster.
// Only called on CPUs with AVX-512F.
var zmmFullWidth = sync.OnceValue(func() bool {
	const iters = 2000
	best := func(fn func(int)) time.Duration {
		t0 := time.Now()
		fn(iters)
		return time.Since(t0)
	}
	z, y := time.Duration(1<<62), time.Duration(1<<62)
	// Best of 25 each (about half a millisecond in all): with best of five a
	// machine loaded with other work (load average 14-19 on two cores,
	// thirteenth session) sometimes measured a slow zmm pass in all five and
	// chose the half-width tiles for the whole process.
	for i := 0; i < 25; i++ {
		z = min(z, best(peakFMAZ))
		y = min(y, best(peakFMA))
	}
	// Full width: a zmm FMA takes as long as a ymm one (z ≈ y); half
	// width: twice as long (z ≈ 2y).
	return 2*z < 3*y
})
