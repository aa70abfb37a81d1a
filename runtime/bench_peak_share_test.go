package runtime

// The share of the int8 instruction peak an int8 model reaches at one thread
// (issue #15 must-show 2: ResNet-50 at >= 70 % of the VNNI peak), per
// multiplying step and overall, on the QDQ (or QOperator) model named by
// WARBOY_BENCH_MODEL:
//
//	WARBOY_BENCH_MODEL=/tmp/resnet50_int8.onnx go test ./runtime -run 'TestExportedInt8PeakShare$' -v
//
// Each step's time is the calling thread's CPU time (the minimum over
// WARBOY_BENCH_RUNS runs, default 30), its work the multiply-adds of the
// layer itself (output elements times the reduction of its constant
// weight: no padding, tile rounding or requantization counted), and the
// peak kernels.PeakGOPS("int8"): a loop of independent VPDPBUSD zmm on
// register operands, the most this core's int8 path can do. The whole
// run's share is the model's multiply-adds over the run's CPU time (the
// steps that multiply nothing count as time).

import (
	"fmt"
	"math"
	"os"
	goruntime "runtime"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// stepMACs is the multiply-adds of a step that multiplies activations by a
// constant weight: its output elements times the weight's reduction (a
// convolution's [OC, C/g, kh, kw]: C/g·kh·kw; a matrix's: its size over the
// output's last dimension). 0 for the others.
func (s *Session) stepMACs(st *step) int64 {
	if len(st.out) == 0 || st.out[0] < 0 {
		return 0
	}
	y := s.model.Graph.Values[s.nameOf(st.out[0])]
	if y == nil || !y.HasShape {
		return 0
	}
	ys, ok := y.Shape.Concrete()
	if !ok || len(ys) == 0 {
		return 0
	}
	for _, id := range st.in {
		if id < 0 {
			continue
		}
		w := s.consts[id]
		if w == nil || (w.DType != graph.Int8 && w.DType != graph.Uint8 && w.DType != graph.Float32) {
			continue
		}
		switch len(w.Shape) {
		case 3, 4, 5:
			k := 1
			for _, d := range w.Shape[1:] {
				k *= d
			}
			return int64(graph.NumElements(ys)) * int64(k)
		case 2:
			if n := ys[len(ys)-1]; n > 0 && w.Len()%n == 0 && w.Len() > n {
				return int64(graph.NumElements(ys)) * int64(w.Len()/n)
			}
		}
	}
	return 0
}

func TestExportedInt8PeakShare(t *testing.T) {
	path := os.Getenv("WARBOY_BENCH_MODEL")
	if path == "" {
		t.Skip("WARBOY_BENCH_MODEL is not set")
	}
	runs := 30
	if v, err := strconv.Atoi(os.Getenv("WARBOY_BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	m, err := graph.Load(path)
	require.NoError(t, err)
	s, err := NewSession(m, WithMode(ModeInt8), WithThreads(1))
	require.NoError(t, err)
	_, in := exportedModelInput(t, s)
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	// The whole run first, uninstrumented (the per-step clocks are system
	// calls: a few hundred per run), then each step's thread CPU time.
	var whole []int64
	for r := 0; r < runs+3; r++ {
		t0 := cpuClock(clockThreadCPU)
		_, err := s.RunTensors(in)
		require.NoError(t, err)
		if d := cpuClock(clockThreadCPU) - t0; r >= 3 {
			whole = append(whole, d)
		}
	}
	n := len(s.steps)
	mins := make([]int64, n)
	for i := range mins {
		mins[i] = math.MaxInt64
	}
	durs := make([]atomic.Int64, n)
	for i := range s.steps {
		s.steps[i].kernel = timedKernel{s.steps[i].kernel, &durs[i]} // thread CPU time at 1 thread
	}
	for r := 0; r < runs; r++ {
		for i := range durs {
			durs[i].Store(0)
		}
		_, err := s.RunTensors(in)
		require.NoError(t, err)
		for i := range durs {
			mins[i] = min(mins[i], durs[i].Load())
		}
	}
	sort.Slice(whole, func(a, b int) bool { return whole[a] < whole[b] })
	// the peak timed by thread CPU time too (the wall clock of a loaded
	// machine holds other processes' slices)
	peak := kernels.PeakGOPSClock("int8", 300*time.Millisecond, func() int64 { return cpuClock(clockThreadCPU) }) / 2 // GMAC/s
	require.Greater(t, peak, 0.0, "no int8 vector path on this CPU")
	type row struct {
		i    int
		macs int64
		ns   int64
	}
	var rows []row
	var macs, macNs, allNs int64
	for i := range s.steps {
		mc := s.stepMACs(&s.steps[i])
		allNs += mins[i]
		if mc > 0 {
			rows = append(rows, row{i, mc, mins[i]})
			macs += mc
			macNs += mins[i]
		}
	}
	share := func(mc, ns int64) float64 { return 100 * float64(mc) / float64(max(ns, 1)) / peak }
	t.Logf("%s: int8 path %s, peak %.1f GMAC/s (PeakGOPS/2), %d runs, load %s", path, kernels.Int8Path(), peak, runs, loadAvg())
	t.Logf("model: %.3f GMAC in %d multiplying steps of %d", float64(macs)/1e9, len(rows), n)
	t.Logf("whole run, thread CPU min/p50: %.3f/%.3f ms: %.1f/%.1f %% of the peak",
		float64(whole[0])/1e6, float64(whole[len(whole)/2])/1e6, share(macs, whole[0]), share(macs, whole[len(whole)/2]))
	var wk []string
	for _, kb := range walkKB {
		wk = append(wk, fmt.Sprintf("%d KB %.1f", kb, memWalkGBs(kb<<10)))
	}
	// On the shared VM one vCPU at a time has had a third less memory
	// bandwidth at the same VPDPBUSD peak, for minutes, and a run on it
	// is 12-20 % slower (docs/runtime.md, "int8 ResNet-50 at one thread,
	// bimodal runs (twenty-third session)"): the read bandwidth measured
	// here tells such a run from a fast one.
	t.Logf("read bandwidth after the runs (best of 3 passes, GB/s of thread CPU): %v", wk)
	t.Logf("sum of the steps' minimums: %.3f ms (%.1f %%); multiplying steps alone %.3f ms (%.1f %%)",
		float64(allNs)/1e6, share(macs, allNs), float64(macNs)/1e6, share(macs, macNs))
	sort.Slice(rows, func(a, b int) bool {
		return rows[a].ns-int64(float64(rows[a].macs)/peak) > rows[b].ns-int64(float64(rows[b].macs)/peak)
	})
	t.Logf("multiplying steps by time lost to the peak (min thread CPU µs, GMAC/s, %% of the peak):")
	for _, r := range rows {
		st := &s.steps[r.i]
		var shapes []string
		for _, id := range st.in {
			if v := s.model.Graph.Values[s.nameOf(id)]; id >= 0 && v != nil {
				shapes = append(shapes, fmt.Sprint(v.Shape))
			} else if w := s.consts[id]; id >= 0 && w != nil && len(w.Shape) > 1 {
				shapes = append(shapes, fmt.Sprint(w.Shape))
			}
		}
		lost := float64(r.ns)/1e3 - float64(r.macs)/peak/1e3
		t.Logf("%8.1f µs %6.1f GMAC/s %5.1f %% lost %6.1f µs  #%-3d %-10s %s %v", float64(r.ns)/1e3, float64(r.macs)/float64(r.ns),
			share(r.macs, r.ns), lost, r.i, st.node.OpType, st.node.Name, shapes)
	}
}

// walkKB are the working sets memWalkGBs reads on each CPU: in L2, beyond
// L2, beyond a share of L3.
var walkKB = []int{256, 4 << 10, 64 << 10}

// memWalkGBs is the best read bandwidth (GB/s of thread CPU time) of a few
// passes over a working set of the given bytes, a 64-byte line at a time
// (8 independent sums).
func memWalkGBs(bytes int) float64 {
	buf := make([]uint64, bytes/8)
	for i := range buf {
		buf[i] = uint64(i)
	}
	best := 0.0
	var sink uint64
	for r := 0; r < 4; r++ {
		t0 := cpuClock(clockThreadCPU)
		var s [8]uint64
		for i := 0; i+64 <= len(buf); i += 64 {
			s[0] += buf[i]
			s[1] += buf[i+8]
			s[2] += buf[i+16]
			s[3] += buf[i+24]
			s[4] += buf[i+32]
			s[5] += buf[i+40]
			s[6] += buf[i+48]
			s[7] += buf[i+56]
		}
		if d := cpuClock(clockThreadCPU) - t0; r > 0 && d > 0 {
			best = max(best, float64(bytes)/float64(d))
		}
		sink += s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7]
	}
	if sink == 1 {
		best++
	}
	return best
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return string(b[:min(len(b), 14)])
}
