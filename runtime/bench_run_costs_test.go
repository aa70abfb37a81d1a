package runtime

import (
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestExportedRunCosts measures what a whole run costs besides its steps'
// kernels: per run, the wall clock, the process's CPU time (all threads:
// the pool's workers and the Go runtime's GC), minor page faults, GC cycles
// and bytes allocated on the Go heap; then the same after evicting the caches
// between runs (a 64 MB sweep, as another process such as ONNX Runtime's
// between bench rounds leaves them). Set WARBOY_BENCH_MODEL (and
// WARBOY_BENCH_THREADS); docs/runtime.md, "EfficientNet-B0: the time outside
// the steps (thirteenth session)".
func TestExportedRunCosts(t *testing.T) {
	threads := 1
	if v, err := strconv.Atoi(os.Getenv("WARBOY_BENCH_THREADS")); err == nil && v > 0 {
		threads = v
	}
	s, in := exportedModelSession(t, threads)
	for i := 0; i < 3; i++ {
		_, err := s.RunTensors(in)
		require.NoError(t, err)
	}
	if f := os.Getenv("WARBOY_RUNCOSTS_MEMPROFILE"); f != "" {
		// The allocations of 30 steady-state runs only, for go tool pprof.
		old := goruntime.MemProfileRate
		goruntime.MemProfileRate = 1
		for i := 0; i < 30; i++ {
			_, err := s.RunTensors(in)
			require.NoError(t, err)
		}
		goruntime.MemProfileRate = old
		w, err := os.Create(f)
		require.NoError(t, err)
		require.NoError(t, pprof.Lookup("allocs").WriteTo(w, 0))
		require.NoError(t, w.Close())
	}
	evict := make([]byte, 64<<20)
	for _, cold := range []bool{false, true} {
		const runs = 30
		var wall, cpu []float64
		var faults int64
		var ms0, ms1 goruntime.MemStats
		goruntime.ReadMemStats(&ms0)
		for i := 0; i < runs; i++ {
			if cold {
				for j := 0; j < len(evict); j += 64 {
					evict[j]++
				}
			}
			var r0, r1 syscall.Rusage
			require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &r0))
			t0 := time.Now()
			_, err := s.RunTensors(in)
			d := time.Since(t0)
			require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &r1))
			require.NoError(t, err)
			wall = append(wall, d.Seconds()*1e3)
			cpu = append(cpu, float64(tvNano(r1.Utime)+tvNano(r1.Stime)-tvNano(r0.Utime)-tvNano(r0.Stime))/1e6)
			faults += r1.Minflt - r0.Minflt
		}
		goruntime.ReadMemStats(&ms1)
		sort.Float64s(wall)
		sort.Float64s(cpu)
		t.Logf("threads %d cold %v: wall min/p50 %.2f/%.2f ms, process CPU min/p50 %.2f/%.2f ms, %.1f minor faults, %.2f GC cycles, %.0f KB and %.0f allocations per run",
			threads, cold, wall[0], wall[runs/2], cpu[0], cpu[runs/2], float64(faults)/runs,
			float64(ms1.NumGC-ms0.NumGC)/runs, float64(ms1.TotalAlloc-ms0.TotalAlloc)/runs/1024, float64(ms1.Mallocs-ms0.Mallocs)/runs)
	}
}

func tvNano(tv syscall.Timeval) int64 { return tv.Sec*1e9 + int64(tv.Usec)*1e3 }
