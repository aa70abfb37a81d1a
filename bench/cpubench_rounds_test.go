package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRunTimersRoundWarmup: every executor gets opts.Warmup untimed runs in
// the first round and min(opts.Warmup, roundWarmup) at the start of every
// later one, then its share of the timed runs; the rounds' latencies add up
// in order.
func TestRunTimersRoundWarmup(t *testing.T) {
	for _, tc := range []struct {
		warmup, rounds, iterations int
		want                       []int // warmup per round
	}{
		{3, 1, 6, []int{3}},
		{3, 3, 6, []int{3, 2, 2}},
		{1, 3, 6, []int{1, 1, 1}},
		{0, 2, 6, []int{0, 0}},
		{5, 10, 30, []int{5, 2, 2, 2, 2, 2, 2, 2, 2, 2}},
	} {
		t.Run(fmt.Sprintf("warmup %d, %d rounds", tc.warmup, tc.rounds), func(t *testing.T) {
			var timers []*timer
			got := make([][]int, 2)
			for e := range got {
				e := e
				n := 0.0
				timers = append(timers, &timer{st: &LatencyStats{Mode: fmt.Sprint("executor ", e)}, run: func(warmup, iterations int, _ time.Duration) ([]float64, []float64, error) {
					got[e] = append(got[e], warmup)
					var lat []float64
					for i := 0; i < iterations; i++ {
						n++
						lat = append(lat, n)
					}
					return lat, lat, nil
				}})
			}
			require.NoError(t, runTimers(timers, CPUBenchOptions{Warmup: tc.warmup, Rounds: tc.rounds, Iterations: tc.iterations}))
			for e, tm := range timers {
				require.Equal(t, tc.want, got[e], "executor %d", e)
				require.Equal(t, tc.iterations, tm.st.Iterations)
				require.Equal(t, 1.0, tm.st.MinMs)
				require.Equal(t, float64(tc.iterations), tm.st.MaxMs)
				require.Equal(t, 1.0, tm.st.CPUMinMs, "CPU times summarised like the latencies")
				require.Equal(t, float64(tc.iterations+1)/2, tm.st.CPUMeanMs)
			}
		})
	}
}
