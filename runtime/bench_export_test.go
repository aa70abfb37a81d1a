package runtime

// Benchmarks and a per-step profile of the float32 executor on an exported
// model named by WARBOY_BENCH_MODEL (e.g. out/bench-models/mobilenet_v2.onnx,
// made by scripts/export_benchmodels.py). Skipped when it is not set, so that
// tests never need the exported files.
//
//	WARBOY_BENCH_MODEL=$PWD/out/bench-models/mobilenet_v2.onnx \
//	  go test ./runtime -run '^$' -bench BenchmarkExportedFloat -benchtime 50x -cpu 1,2
//	WARBOY_BENCH_MODEL=... WARBOY_BENCH_THREADS=2 go test ./runtime -run TestExportedStepProfile -v
//
// WARBOY_BENCH_MODE=int8 runs a quantized (QDQ) model on the int8 executor
// instead (e.g. the output of warboy quantize). WARBOY_BENCH_INPUT=FILE.npz
// (or .npy for the first input) runs on that input instead of random data:
// the symbolic sequence and batch sizes of a recurrent or text model are 1 in
// the random input, which hides what a run on real data costs.

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
)

// exportedModelSession opens WARBOY_BENCH_MODEL with threads threads and
// returns the session and a random input for its first graph input (zeros for an
// integer input).
func exportedModelSession(tb testing.TB, threads int) (*Session, map[string]*graph.Tensor) {
	path := os.Getenv("WARBOY_BENCH_MODEL")
	if path == "" {
		tb.Skip("WARBOY_BENCH_MODEL is not set")
	}
	m, err := graph.Load(path)
	require.NoError(tb, err)
	mode := ModeFloat
	if os.Getenv("WARBOY_BENCH_MODE") == "int8" {
		mode = ModeInt8
	}
	if f := os.Getenv("WARBOY_BENCH_INPUT"); f != "" {
		var inputs []*graph.Value
		for _, in := range m.Graph.Inputs {
			if m.Graph.Initializers[in.Name] == nil {
				inputs = append(inputs, in)
			}
		}
		require.NotEmpty(tb, inputs)
		feeds := map[string]*graph.Tensor{}
		if strings.HasSuffix(f, ".npz") {
			feeds, err = dataset.ReadNPZ(f)
		} else {
			feeds[inputs[0].Name], err = dataset.ReadNPY(f)
		}
		require.NoError(tb, err)
		shapes := map[string][]int{}
		for _, in := range inputs {
			// a file of samples ([1, ...] around one input) as bench cpu reads it
			if t := feeds[in.Name]; t != nil && len(t.Shape) == len(in.Shape)+1 && t.Shape[0] == 1 {
				feeds[in.Name] = &graph.Tensor{DType: t.DType, Shape: t.Shape[1:], Data: t.Data}
			}
			if t := feeds[in.Name]; t != nil {
				shapes[in.Name] = t.Shape
			}
		}
		// Symbolic axes bound to the file's shapes, as bench cpu's Replanner
		// plans them (the shape-dependent rewrites need static sizes).
		if HasSymbolicInputs(m) {
			m, err = m.WithInputShapes(shapes)
			require.NoError(tb, err)
		}
		s, err := NewSession(m, WithMode(mode), WithThreads(threads))
		require.NoError(tb, err)
		return s, feeds
	}
	s, err := NewSession(m, WithMode(mode), WithThreads(threads))
	require.NoError(tb, err)
	in := s.inputs[0]
	shape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		shape[i] = d.Size
		if d.Size <= 0 {
			shape[i] = 1
		}
	}
	if in.DType != graph.Float32 {
		// Integer inputs (token ids): zeros, a valid index into any table.
		return s, map[string]*graph.Tensor{in.Name: graph.NewTensor(in.DType, shape)}
	}
	x := graph.NewTensor(graph.Float32, shape)
	r := rand.New(rand.NewSource(1))
	for i := range x.F32() {
		x.F32()[i] = r.Float32()*2 - 1
	}
	return s, map[string]*graph.Tensor{in.Name: x}
}

func BenchmarkExportedFloat(b *testing.B) {
	s, in := exportedModelSession(b, goruntime.GOMAXPROCS(0))
	for i := 0; i < 3; i++ {
		_, err := s.RunTensors(in)
		require.NoError(b, err)
	}
	lat := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := s.RunTensors(in); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/1e3)
	}
	sort.Float64s(lat)
	b.ReportMetric(lat[0], "min-ms")
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*95/100], "p95-ms")
}

type timedKernel struct {
	inner Kernel
	dur   *atomic.Int64
}

func (k timedKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	t0 := stepClock(ctx.Threads)
	out, err := k.inner.Run(ctx, in)
	k.dur.Add(stepClock(ctx.Threads) - t0)
	return out, err
}

// stepClock is the calling thread's CPU time at 1 thread (the kernels then
// run on the caller's goroutine, locked to its thread by the profile), so that
// time lost to other processes on a shared machine is not counted, and the
// wall clock otherwise.
func stepClock(threads int) int64 {
	if threads != 1 {
		return time.Now().UnixNano()
	}
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// TestExportedStepProfile prints the time of each executed step (summed over
// runs), the slowest steps and the time per kernel type.
func TestExportedStepProfile(t *testing.T) {
	threads := 1
	if v := os.Getenv("WARBOY_BENCH_THREADS"); v != "" {
		threads, _ = strconv.Atoi(v)
	}
	s, in := exportedModelSession(t, threads)
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	durs := make([]atomic.Int64, len(s.steps))
	for i := range s.steps {
		s.steps[i].kernel = timedKernel{s.steps[i].kernel, &durs[i]}
	}
	for i := 0; i < 3; i++ {
		_, err := s.RunTensors(in)
		require.NoError(t, err)
	}
	for i := range durs {
		durs[i].Store(0)
	}
	const runs = 30
	// WARBOY_BENCH_STAT=min: each step's minimum over the runs instead of
	// its mean (on a loaded machine the mean carries other processes'
	// cache pollution; the minimum is what ORT's per-node minimum in
	// tools/ort/profile.js compares with).
	useMin := os.Getenv("WARBOY_BENCH_STAT") == "min"
	mins := make([]int64, len(durs))
	for i := range mins {
		mins[i] = math.MaxInt64
	}
	t0 := time.Now()
	for i := 0; i < runs; i++ {
		before := make([]int64, len(durs))
		for j := range durs {
			before[j] = durs[j].Load()
		}
		_, err := s.RunTensors(in)
		require.NoError(t, err)
		for j := range durs {
			mins[j] = min(mins[j], durs[j].Load()-before[j])
		}
	}
	total := time.Since(t0) / runs
	type row struct {
		i   int
		d   time.Duration
		typ string
	}
	rows := make([]row, len(s.steps))
	byType := map[string]time.Duration{}
	var sum time.Duration
	for i, st := range s.steps {
		d := time.Duration(durs[i].Load()) / runs
		if useMin {
			d = time.Duration(mins[i])
		}
		typ := fmt.Sprintf("%s/%T", st.node.OpType, st.kernel.(timedKernel).inner)
		rows[i] = row{i, d, typ}
		byType[typ] += d
		sum += d
	}
	t.Logf("threads %d: %v per run, %v in steps, %d steps", threads, total, sum, len(s.steps))
	sort.Slice(rows, func(a, b int) bool { return rows[a].d > rows[b].d })
	top := 40
	if v, err := strconv.Atoi(os.Getenv("WARBOY_BENCH_TOP")); err == nil && v > 0 {
		top = v // WARBOY_BENCH_TOP: how many of the slowest steps to print
	}
	for _, r := range rows[:min(top, len(rows))] {
		st := s.steps[r.i]
		var shapes []string
		for _, id := range st.in {
			if v := s.model.Graph.Values[s.nameOf(id)]; id >= 0 && v != nil {
				shapes = append(shapes, fmt.Sprint(v.Shape))
			}
		}
		t.Logf("%8.3f ms  #%3d %-40s %s %v", r.d.Seconds()*1e3, r.i, r.typ, st.node.Name, shapes)
	}
	types := make([]string, 0, len(byType))
	for k := range byType {
		types = append(types, k)
	}
	sort.Slice(types, func(a, b int) bool { return byType[types[a]] > byType[types[b]] })
	for _, k := range types {
		t.Logf("%8.3f ms  %s", byType[k].Seconds()*1e3, k)
	}
}

// TestExportedSideBySide times our float32 session and ONNX Runtime on the
// same file and input, interleaved in rounds, at 1 and 2 threads, and prints
// min / p50 of each and their ratios.
func TestExportedSideBySide(t *testing.T) {
	path := os.Getenv("WARBOY_BENCH_MODEL")
	if path == "" {
		t.Skip("WARBOY_BENCH_MODEL is not set")
	}
	if err := ortoracle.Available(); err != nil {
		t.Skip(err)
	}
	const rounds, iters = 3, 10
	for _, threads := range []int{1, 2} {
		s, in := exportedModelSession(t, threads)
		for i := 0; i < 3; i++ {
			_, err := s.RunTensors(in)
			require.NoError(t, err)
		}
		var ours, ort []float64
		for r := 0; r < rounds; r++ {
			for i := 0; i < iters; i++ {
				t0 := time.Now()
				_, err := s.RunTensors(in)
				require.NoError(t, err)
				ours = append(ours, float64(time.Since(t0).Microseconds())/1e3)
			}
			lat, err := ortoracle.Bench(path, in, threads, 3, iters)
			require.NoError(t, err)
			ort = append(ort, lat...)
		}
		sort.Float64s(ours)
		sort.Float64s(ort)
		t.Logf("threads %d: ours min/p50 %.2f/%.2f ms, ORT %.2f/%.2f ms, ratio min %.2f p50 %.2f",
			threads, ours[0], ours[len(ours)/2], ort[0], ort[len(ort)/2], ours[0]/ort[0], ours[len(ours)/2]/ort[len(ort)/2])
	}
}

// TestExportedThreadScaling runs the float32 session at 1 and 2 threads
// alternately (WARBOY_BENCH_RUNS runs each, default 60) and prints the min
// and p50 of each: on a shared machine the min is the uncontended speed.
func TestExportedThreadScaling(t *testing.T) {
	runs := 60
	if v := os.Getenv("WARBOY_BENCH_RUNS"); v != "" {
		runs, _ = strconv.Atoi(v)
	}
	s1, in := exportedModelSession(t, 1)
	s2, _ := exportedModelSession(t, 2)
	lat := [2][]float64{}
	for i := 0; i < runs+3; i++ {
		for j, s := range []*Session{s1, s2} {
			t0 := time.Now()
			_, err := s.RunTensors(in)
			require.NoError(t, err)
			if i >= 3 {
				lat[j] = append(lat[j], float64(time.Since(t0).Microseconds())/1e3)
			}
		}
	}
	for j := range lat {
		sort.Float64s(lat[j])
		t.Logf("threads %d: min %.2f p25 %.2f p50 %.2f ms", j+1, lat[j][0], lat[j][len(lat[j])/4], lat[j][len(lat[j])/2])
	}
}
