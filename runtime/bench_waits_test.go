package runtime

// Where, at 2 threads, the caller of each parallel call waits for the pool
// worker's share, per kernel type of an exported model named by
// WARBOY_BENCH_MODEL: parallel calls per run, caller waits per run and their
// total time. A step kind whose parallel calls end with the caller waiting
// tens of µs splits its work unevenly (or in too few pieces for a late
// worker to catch up); one with many calls per run of a few µs each pays for
// the fork and join more than the split saves.
//
//	WARBOY_BENCH_MODEL=$PWD/out/bench-models/mobilenet_v2.onnx \
//	  go test ./runtime -run TestExportedStepWaits -v
//
// WARBOY_BENCH_RUNS sets the number of runs (default 30).

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// waitsKernel accumulates the pool counters' change over each run of a step.
type waitsKernel struct {
	inner Kernel
	kind  string
	acc   map[string]*stepWaits
	on    *bool
}

type stepWaits struct {
	steps                 int
	jobs, waits, waitNs   int64
	wallNs, callerClaimed int64
}

func (k waitsKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if !*k.on {
		return k.inner.Run(ctx, in)
	}
	s0, t0 := kernels.ReadPoolStats(), time.Now()
	out, err := k.inner.Run(ctx, in)
	d, s1 := time.Since(t0), kernels.ReadPoolStats()
	a := k.acc[k.kind]
	a.jobs += s1.Jobs - s0.Jobs
	a.waits += s1.SpinWaits + s1.BlockedWaits - s0.SpinWaits - s0.BlockedWaits
	a.waitNs += s1.SpinWaitNs + s1.BlockedWaitNs - s0.SpinWaitNs - s0.BlockedWaitNs
	a.callerClaimed += s1.CallerClaimed - s0.CallerClaimed
	a.wallNs += int64(d)
	return out, err
}

func TestExportedStepWaits(t *testing.T) {
	if os.Getenv("WARBOY_BENCH_MODEL") == "" {
		t.Skip("WARBOY_BENCH_MODEL is not set")
	}
	runs := 30
	if v := os.Getenv("WARBOY_BENCH_RUNS"); v != "" {
		runs, _ = strconv.Atoi(v)
	}
	s, in := exportedModelSession(t, 2)
	acc := map[string]*stepWaits{}
	on := false
	for i, st := range s.steps {
		kind := fmt.Sprintf("%s/%T", st.node.OpType, st.kernel)
		if acc[kind] == nil {
			acc[kind] = &stepWaits{}
		}
		acc[kind].steps++
		s.steps[i].kernel = waitsKernel{st.kernel, kind, acc, &on}
	}
	for range 3 {
		_, err := s.RunTensors(in)
		require.NoError(t, err)
	}
	kernels.EnablePoolStats(true)
	defer kernels.EnablePoolStats(false)
	on = true
	t0 := time.Now()
	for range runs {
		_, err := s.RunTensors(in)
		require.NoError(t, err)
	}
	per := float64(runs)
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("%s: %d runs at 2 threads, load %s, %.2f ms a run", os.Getenv("WARBOY_BENCH_MODEL"), runs,
		strings.TrimSpace(string(load)), float64(time.Since(t0).Microseconds())/1e3/per)
	kinds := make([]string, 0, len(acc))
	for k := range acc {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return acc[kinds[i]].waitNs > acc[kinds[j]].waitNs })
	var jobs, waitNs int64
	for _, k := range kinds {
		a := acc[k]
		jobs += a.jobs
		waitNs += a.waitNs
		t.Logf("%-56s %3d steps  wall %7.3f ms  calls %5.1f  caller waits %5.1f, %6.1f µs each, %7.3f ms a run  shares left to the caller %5.1f",
			k, a.steps, float64(a.wallNs)/1e6/per, float64(a.jobs)/per, float64(a.waits)/per,
			float64(a.waitNs)/1e3/float64(max(a.waits, 1)), float64(a.waitNs)/1e6/per, float64(a.callerClaimed)/per)
	}
	t.Logf("all steps: %.1f parallel calls a run, caller waits %.3f ms a run", float64(jobs)/per, float64(waitNs)/1e6/per)
}
