//go:build amd64 && !purego && !noasm

package kernels

import (
	"sort"
	"sync"
	"time"
)

// zmmFullWidth reports whether this CPU's 512-bit FMAs have twice the
// float32 throughput of its 256-bit ones (two full-width zmm FMA units, as
// on Intel's server cores), measured once: the same number of independent
// zmm and ymm FMA instructions in 25 adjacent pairs of passes. Where zmm
// FMAs are split in two 256-bit halves (AMD Zen 4) or run on a single
// 512-bit unit, one zmm per row of a 16-wide tile (six FMA chains) is slower
// than two ymm per row (twelve); where they are full width it is faster.
// Only called on CPUs with AVX-512F.
//
// The verdict is the median of the pairs' zmm/ymm time ratios. It was the
// ratio of the best zmm pass to the best ymm pass, which mixed the states of
// a shared core: on this 2-vCPU Xeon a pass takes 3.1 µs in one state and
// 4.6 (ymm) to 5.2 µs (zmm) in another (a busy sibling thread or a lower
// clock; the state flips within a few passes), and a process whose best zmm
// pass came from the slow state and best ymm pass from the fast one read
// 5.2 / 3.1 as half width: at load 10-13 a test process ran ResNeXt-50's
// grouped convolutions on the AVX2 tiles without the paired ones
// (fourteenth session). Adjacent passes almost always share a state, so
// their ratio is about 1.0-1.15 on full-width units and 2 on half-width
// ones whichever state it is.
var zmmFullWidth = sync.OnceValue(func() bool {
	// A half-width verdict is measured again, up to three times: at load 20
	// one test process in 40 still read half width on this Xeon (a
	// disturbance longer than the 25 pairs), where every other one read a
	// median ratio of 1.12-1.15; a half-width CPU reads about 2 every time.
	for attempt := 0; attempt < 3; attempt++ {
		if zmmRatio() < 1.5 {
			return true
		}
	}
	return false
})

// zmmRatio is the median zmm/ymm time ratio of 25 adjacent pairs of passes.
func zmmRatio() float64 {
	const iters, pairs = 2000, 25
	pass := func(fn func(int)) time.Duration {
		t0 := time.Now()
		fn(iters)
		return time.Since(t0)
	}
	ratios := make([]float64, pairs)
	for i := range ratios {
		z := pass(peakFMAZ)
		y := pass(peakFMA)
		ratios[i] = float64(z) / float64(max(y, 1))
	}
	sort.Float64s(ratios)
	// Full width: a zmm FMA takes about as long as a ymm one (ratio ≈ 1);
	// half width: twice as long (≈ 2).
	return ratios[pairs/2]
}
