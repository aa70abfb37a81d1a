package runtime

// Run-to-run spread of the float32 executor on an exported model named by
// WARBOY_BENCH_MODEL, and what comes with the slow runs. Each run records
// its wall time, the process CPU time, the minor page faults, the
// involuntary context switches of the process (the OS took a core from one
// of its threads), the GC cycles that ended during it and the bytes it
// allocated; the thread pool's counters are summed over the runs. The runs
// are then split at the median: if the slow half has the
// GC cycles or the page faults, the executor makes its own spread; if it has
// the context switches and a wall time well above its CPU time, the machine
// does. On a loaded machine the wall times mostly measure the machine; the
// process CPU time per run (printed as min, p50 and p90 too) still shows the
// work a run does, and the spread the executor causes itself.
//
//	WARBOY_BENCH_MODEL=$PWD/out/bench-models/efficientnet_b0.onnx \
//	  WARBOY_BENCH_THREADS=1 WARBOY_BENCH_RUNS=200 \
//	  go test ./runtime -run TestExportedRunSpread -v

import (
	"os"
	goruntime "runtime"
	"runtime/metrics"
	"slices"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/kernels"
)

type runSample struct {
	wall, cpu               time.Duration
	faults, preempts, gcs   int64
	allocBytes, allocsCount uint64
}

// runCounters reads the process counters a runSample is the difference of.
type runCounters struct {
	at       time.Time
	cpu      time.Duration
	faults   int64
	preempts int64
	gcs      uint64
	bytes    uint64
	objects  uint64
}

var spreadMetrics = []metrics.Sample{
	{Name: "/gc/cycles/total:gc-cycles"},
	{Name: "/gc/heap/allocs:bytes"},
	{Name: "/gc/heap/allocs:objects"},
}

func readRunCounters() runCounters {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	metrics.Read(spreadMetrics)
	return runCounters{
		at:       time.Now(),
		cpu:      time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		faults:   ru.Minflt,
		preempts: ru.Nivcsw,
		gcs:      spreadMetrics[0].Value.Uint64(),
		bytes:    spreadMetrics[1].Value.Uint64(),
		objects:  spreadMetrics[2].Value.Uint64(),
	}
}

func (b runCounters) since(a runCounters) runSample {
	return runSample{
		wall: b.at.Sub(a.at), cpu: b.cpu - a.cpu,
		faults: b.faults - a.faults, preempts: b.preempts - a.preempts, gcs: int64(b.gcs - a.gcs),
		allocBytes: b.bytes - a.bytes, allocsCount: b.objects - a.objects,
	}
}

func TestExportedRunSpread(t *testing.T) {
	if os.Getenv("WARBOY_BENCH_MODEL") == "" {
		t.Skip("WARBOY_BENCH_MODEL is not set")
	}
	threads, runs := goruntime.GOMAXPROCS(0), 100
	if v := os.Getenv("WARBOY_BENCH_THREADS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		threads = n
	}
	if v := os.Getenv("WARBOY_BENCH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		runs = n
	}
	s, in := exportedModelSession(t, threads)
	for range 3 {
		_, err := s.RunTensors(in)
		require.NoError(t, err)
	}
	kernels.EnablePoolStats(true)
	defer kernels.EnablePoolStats(false)
	kernels.ResetPoolStats()
	samples := make([]runSample, runs)
	for i := range samples {
		a := readRunCounters()
		_, err := s.RunTensors(in)
		require.NoError(t, err)
		samples[i] = readRunCounters().since(a)
	}
	pst := kernels.ReadPoolStats()
	sort.Slice(samples, func(i, j int) bool { return samples[i].wall < samples[j].wall })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	lo, p50, p90 := samples[0].wall, samples[len(samples)/2].wall, samples[len(samples)*9/10].wall
	t.Logf("%d threads, %d runs: wall min %.2f ms, p50 %.2f (%.3fx min), p90 %.2f (%.3fx min)",
		threads, runs, ms(lo), ms(p50), float64(p50)/float64(lo), ms(p90), float64(p90)/float64(lo))
	cpus := make([]time.Duration, len(samples))
	for i, x := range samples {
		cpus[i] = x.cpu
	}
	slices.Sort(cpus)
	c0, c50, c90 := cpus[0], cpus[len(cpus)/2], cpus[len(cpus)*9/10]
	t.Logf("process CPU per run: min %.2f ms, p50 %.2f (%.3fx min), p90 %.2f (%.3fx min)",
		ms(c0), ms(c50), float64(c50)/float64(c0), ms(c90), float64(c90)/float64(c0))
	half := func(name string, ss []runSample) {
		var wall, cpu time.Duration
		var faults, preempts, gcs, withGC, withPreempt int64
		var bytes, objects uint64
		for _, x := range ss {
			wall += x.wall
			cpu += x.cpu
			faults += x.faults
			preempts += x.preempts
			gcs += x.gcs
			bytes += x.allocBytes
			objects += x.allocsCount
			if x.gcs > 0 {
				withGC++
			}
			if x.preempts > 0 {
				withPreempt++
			}
		}
		n := int64(len(ss))
		t.Logf("%s (%d runs): wall %.2f ms, process CPU %.2f ms, page faults %.1f, involuntary switches %.1f (in %d%% of runs), GC cycles %d (in %d%% of runs), allocated %.0f KB in %d objects",
			name, n, ms(wall/time.Duration(n)), ms(cpu/time.Duration(n)), float64(faults)/float64(n),
			float64(preempts)/float64(n), 100*withPreempt/n, gcs, 100*withGC/n, float64(bytes)/float64(n)/1024, objects/uint64(n))
	}
	t.Logf("thread pool: %.1f parallel calls a run, %d worker wake-ups, %d parks, turned passive %d times",
		float64(pst.Jobs)/float64(runs), pst.Wakes, pst.Parks, pst.Passive)
	half("fast half", samples[:len(samples)/2])
	half("slow half", samples[len(samples)/2:])
	half("slowest tenth", samples[len(samples)*9/10:])
}
