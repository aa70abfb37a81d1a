package runtime

// Per-step thread scaling of the float32 (or int8) executor on an exported
// model named by WARBOY_BENCH_MODEL: the same model at 1 and 2 threads in one
// process, run alternately, each step timed by wall clock, by the CPU time of
// the calling thread and by the CPU time of the whole process. On a loaded
// machine wall-clock ratios say little, but the split of the CPU time does:
// a step whose caller-thread CPU time at 2 threads is its whole CPU time at 1
// thread ran serially, one whose caller does half of it was split in two.
//
//	WARBOY_BENCH_MODEL=$PWD/out/bench-models/mobilenet_v2.onnx \
//	  go test ./runtime -run TestExportedStepScaling -v
//
// WARBOY_BENCH_RUNS sets the number of runs per thread count (default 30);
// WARBOY_BENCH_INT8=1 quantizes nothing but runs the model in the default
// mode (an int8 QDQ model then runs on the int8 executor).

import (
	"fmt"
	"math"
	"os"
	goruntime "runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

const (
	clockProcessCPU = 2
	clockThreadCPU  = 3
)

func cpuClock(id uintptr) int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, id, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// stepTimes records, per run and step, wall, caller-thread CPU and process CPU
// nanoseconds.
type stepTimes struct {
	run                int
	wall, thread, proc [][]int64
}

type scaledKernel struct {
	inner Kernel
	i     int
	acc   **stepTimes
}

func (k scaledKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	w0, t0, p0 := time.Now().UnixNano(), cpuClock(clockThreadCPU), cpuClock(clockProcessCPU)
	out, err := k.inner.Run(ctx, in)
	p1, t1, w1 := cpuClock(clockProcessCPU), cpuClock(clockThreadCPU), time.Now().UnixNano()
	if a := *k.acc; a != nil {
		a.wall[a.run][k.i] += w1 - w0
		a.thread[a.run][k.i] += t1 - t0
		a.proc[a.run][k.i] += p1 - p0
	}
	return out, err
}

func scalingSession(t *testing.T, threads int) (*Session, map[string]*graph.Tensor, **stepTimes) {
	var s *Session
	var in map[string]*graph.Tensor
	if os.Getenv("WARBOY_BENCH_INT8") != "" {
		m, err := graph.Load(os.Getenv("WARBOY_BENCH_MODEL"))
		require.NoError(t, err)
		s, err = NewSession(m, WithThreads(threads))
		require.NoError(t, err)
		_, in = exportedModelInput(t, s)
	} else {
		s, in = exportedModelSession(t, threads)
	}
	acc := new(*stepTimes)
	for i := range s.steps {
		s.steps[i].kernel = scaledKernel{s.steps[i].kernel, i, acc}
	}
	return s, in, acc
}

// exportedModelInput makes a random input for the session's first input.
func exportedModelInput(t *testing.T, s *Session) (string, map[string]*graph.Tensor) {
	in := s.inputs[0]
	shape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		shape[i] = max(d.Size, 1)
	}
	x := graph.NewTensor(graph.Float32, shape)
	for i := range x.F32() {
		x.F32()[i] = float32((i*7919)%2001)/1000 - 1
	}
	return in.Name, map[string]*graph.Tensor{in.Name: x}
}

// TestExportedStepScaling prints, per kernel type and for the slowest steps,
// the CPU time at 1 thread, the caller's CPU time and the other threads' CPU
// time at 2 threads, and the wall time of both, per inference: the median
// over the runs of each step (and, for all steps, the sum of the per-step
// minimums: the runs where no other process took the CPU).
func TestExportedStepScaling(t *testing.T) {
	if os.Getenv("WARBOY_BENCH_MODEL") == "" {
		t.Skip("WARBOY_BENCH_MODEL is not set")
	}
	runs := 30
	if v := os.Getenv("WARBOY_BENCH_RUNS"); v != "" {
		runs, _ = strconv.Atoi(v)
	}
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	s1, in, acc1 := scalingSession(t, 1)
	s2, _, acc2 := scalingSession(t, 2)
	n := len(s1.steps)
	require.Equal(t, n, len(s2.steps))
	newTimes := func() *stepTimes {
		st := &stepTimes{}
		for _, p := range []*[][]int64{&st.wall, &st.thread, &st.proc} {
			*p = make([][]int64, runs)
			for r := range *p {
				(*p)[r] = make([]int64, n)
			}
		}
		return st
	}
	a1, a2 := newTimes(), newTimes()
	var total [2][]float64
	var outs [2]map[string]*graph.Tensor
	for r := 0; r < runs+3; r++ {
		for j, s := range []*Session{s1, s2} {
			acc, a := []**stepTimes{acc1, acc2}[j], []*stepTimes{a1, a2}[j]
			if r >= 3 {
				a.run = r - 3
				*acc = a
			}
			t0 := time.Now()
			out, err := s.RunTensors(in)
			require.NoError(t, err)
			outs[j] = out
			if r >= 3 {
				total[j] = append(total[j], float64(time.Since(t0).Microseconds())/1e3)
			}
		}
	}
	for j := range total {
		sort.Float64s(total[j])
	}
	// The two thread counts compute the same outputs (the split changes at
	// most the order of a few float sums).
	for name, o1 := range outs[0] {
		o2 := outs[1][name]
		require.NotNil(t, o2, name)
		if o1.DType != graph.Float32 {
			require.Equal(t, o1.Data, o2.Data, name)
			continue
		}
		var diff, peak float64
		for i, v := range o1.F32() {
			diff = max(diff, math.Abs(float64(v-o2.F32()[i])))
			peak = max(peak, math.Abs(float64(v)))
		}
		t.Logf("output %s: max |1 thread - 2 threads| = %.3g (max |output| %.3g)", name, diff, peak)
		require.LessOrEqual(t, diff, 1e-4*max(peak, 1e-30), name)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("%s: %d runs each, load %s", os.Getenv("WARBOY_BENCH_MODEL"), runs, strings.TrimSpace(string(load)))
	t.Logf("whole run wall min/p50: 1 thread %.2f/%.2f ms, 2 threads %.2f/%.2f ms",
		total[0][0], total[0][runs/2], total[1][0], total[1][runs/2])
	// Per step: median and minimum over the runs of each measure.
	const c1, w1, c2, o2, w2, nm = 0, 1, 2, 3, 4, 5
	med, low := make([][nm]int64, n), make([][nm]int64, n)
	col := make([]int64, runs)
	for i := 0; i < n; i++ {
		for m, get := range [nm]func(r int) int64{
			func(r int) int64 { return a1.thread[r][i] },
			func(r int) int64 { return a1.wall[r][i] },
			func(r int) int64 { return a2.thread[r][i] },
			func(r int) int64 { return a2.proc[r][i] - a2.thread[r][i] },
			func(r int) int64 { return a2.wall[r][i] },
		} {
			for r := range col {
				col[r] = get(r)
			}
			slices.Sort(col)
			med[i][m], low[i][m] = col[runs/2], col[0]
		}
	}
	type agg struct {
		v     [nm]int64
		steps int
	}
	add := func(g *agg, v [nm]int64) {
		for m := range v {
			g.v[m] += v[m]
		}
		g.steps++
	}
	ms := func(v int64) float64 { return float64(v) / 1e6 }
	line := func(name string, g *agg) {
		v := g.v
		t.Logf("%-56s %3d  cpu1 %7.3f  wall1 %7.3f | caller2 %7.3f (%3.0f%%)  others2 %7.3f  wall2 %7.3f (%3.0f%%)",
			name, g.steps, ms(v[c1]), ms(v[w1]), ms(v[c2]), 100*float64(v[c2])/float64(max(v[c1], 1)), ms(v[o2]), ms(v[w2]),
			100*float64(v[w2])/float64(max(v[w1], 1)))
	}
	t.Logf("per inference, ms, median over runs per step (caller2 %% = caller's CPU at 2 threads / CPU at 1 thread, " +
		"50%% is an even split; wall2 %% = wall at 2 threads / wall at 1 thread):")
	byType, byTypeLow := map[string]*agg{}, map[string]*agg{}
	var sum, sumLow agg
	for i := 0; i < n; i++ {
		typ := fmt.Sprintf("%s/%T", s1.steps[i].node.OpType, s1.steps[i].kernel.(scaledKernel).inner)
		if byType[typ] == nil {
			byType[typ], byTypeLow[typ] = &agg{}, &agg{}
		}
		add(byType[typ], med[i])
		add(byTypeLow[typ], low[i])
		add(&sum, med[i])
		add(&sumLow, low[i])
	}
	line("all steps (medians)", &sum)
	line("all steps (minimums)", &sumLow)
	types := make([]string, 0, len(byType))
	for k := range byType {
		types = append(types, k)
	}
	sort.Slice(types, func(a, b int) bool { return byType[types[a]].v[c1] > byType[types[b]].v[c1] })
	for _, k := range types {
		line(k, byType[k])
	}
	// The per-step minimums come from the runs where the other thread was
	// there: a type whose caller share stays near 100% there too ran serially.
	t.Logf("per kernel type, sums of per-step minimums over the runs:")
	for _, k := range types {
		line(k, byTypeLow[k])
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	sort.Slice(rows, func(a, b int) bool { return med[rows[a]][c1] > med[rows[b]][c1] })
	t.Logf("slowest steps (median; min in brackets for caller2 and wall2):")
	for _, i := range rows[:min(40, n)] {
		st := s1.steps[i]
		var shapes []string
		for _, id := range st.in {
			if id >= 0 {
				if v := s1.model.Graph.Values[s1.nameOf(id)]; v != nil {
					shapes = append(shapes, fmt.Sprint(v.Shape))
				}
			}
		}
		name := fmt.Sprintf("#%d %s %s", i, st.node.OpType, strings.Join(shapes, " "))
		if len(name) > 56 {
			name = name[:56]
		}
		line(name, &agg{med[i], 1})
		t.Logf("%56s      min: cpu1 %7.3f caller2 %7.3f (%3.0f%%) wall2 %7.3f", "", ms(low[i][c1]), ms(low[i][c2]),
			100*float64(low[i][c2])/float64(max(low[i][c1], 1)), ms(low[i][w2]))
	}
}
