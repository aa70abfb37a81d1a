package runtime

// What the kernels' thread pool does during inference on an exported model
// named by WARBOY_BENCH_MODEL at 2 threads: how many parallel calls a run
// makes, how many of the shares offered to the pool worker it took and how
// long after the post, and how long the caller waited for it. It shows
// whether the second thread takes part, which wall times on a shared machine
// cannot.
//
//	WARBOY_BENCH_MODEL=$PWD/out/bench-models/mobilenet_v2.onnx \
//	  go test ./runtime -run TestExportedPoolStats -v
//
// WARBOY_BENCH_RUNS sets the number of runs (default 30).

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/kernels"
)

func TestExportedPoolStats(t *testing.T) {
	if os.Getenv("WARBOY_BENCH_MODEL") == "" {
		t.Skip("WARBOY_BENCH_MODEL is not set")
	}
	runs := 30
	if v := os.Getenv("WARBOY_BENCH_RUNS"); v != "" {
		runs, _ = strconv.Atoi(v)
	}
	s, in := exportedModelSession(t, 2)
	for range 3 {
		_, err := s.RunTensors(in)
		require.NoError(t, err)
	}
	kernels.EnablePoolStats(true)
	defer kernels.EnablePoolStats(false)
	wall := make([]float64, runs)
	for r := range wall {
		t0 := time.Now()
		_, err := s.RunTensors(in)
		require.NoError(t, err)
		wall[r] = float64(time.Since(t0).Microseconds()) / 1e3
	}
	st := kernels.ReadPoolStats()
	sort.Float64s(wall)
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("%s: %d runs at 2 threads, load %s; wall min/p50/max %.2f/%.2f/%.2f ms",
		os.Getenv("WARBOY_BENCH_MODEL"), runs, strings.TrimSpace(string(load)), wall[0], wall[runs/2], wall[runs-1])
	t.Logf("per run: %.0f parallel calls; over all runs:\n%v", float64(st.Jobs)/float64(runs), st)
	require.Equal(t, st.Offered, st.WorkerClaims+st.CallerClaimed)
}
