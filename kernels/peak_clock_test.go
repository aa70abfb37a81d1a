package kernels

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPeakGOPSClockArithmetic runs PeakGOPSClock on a clock that moves 1 ms
// per reading, so that the batches and their times are known: one batch of
// 32 loop calls (the clock read every 8 calls, the batch ends at 5 ms) timed
// as 6 ms, and no second batch (d = 2 ms has passed).
func TestPeakGOPSClockArithmetic(t *testing.T) {
	for _, dtype := range []string{"int8", "float32"} {
		t.Run(dtype, func(t *testing.T) {
			fn, macs := peakLoop(dtype)
			var c int64
			now := func() int64 { c += int64(time.Millisecond); return c }
			got := PeakGOPSClock(dtype, 2*time.Millisecond, now)
			if fn == nil {
				require.Zero(t, got)
				return
			}
			want := 2 * float64(macs) * (1 << 12) * 32 / 6e-3 / 1e9
			require.InEpsilon(t, want, got, 1e-12)
		})
	}
}
