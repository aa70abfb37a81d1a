package runtime

import (
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExportedStepMinimums prints, for every step of the exported model named
// by WARBOY_BENCH_MODEL (at WARBOY_BENCH_THREADS threads, default 1), the
// minimum over 40 runs of its calling-thread CPU time and of its wall time,
// with its kernel type, node and input shapes, one "STEP" line each, and
// their sums ("SUM"). On a shared machine a step's minimum is the run no
// other process disturbed; comparing two trees step by step, alternate their
// test binaries and take each step's minimum over the rounds:
//
//	WARBOY_BENCH_MODEL=$PWD/out/bench-models-extra/mobilenet_v3_large.onnx \
//	  go test ./runtime -run TestExportedStepMinimums -v | grep -E 'STEP|SUM'
func TestExportedStepMinimums(t *testing.T) {
	if os.Getenv("WARBOY_BENCH_MODEL") == "" {
		t.Skip("WARBOY_BENCH_MODEL is not set")
	}
	threads := 1
	if v := os.Getenv("WARBOY_BENCH_THREADS"); v != "" {
		threads, _ = strconv.Atoi(v)
	}
	runs := 40
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	s, in, acc := scalingSession(t, threads)
	n := len(s.steps)
	st := &stepTimes{}
	for _, p := range []*[][]int64{&st.wall, &st.thread, &st.proc} {
		*p = make([][]int64, runs)
		for r := range *p {
			(*p)[r] = make([]int64, n)
		}
	}
	for r := 0; r < runs+3; r++ {
		if r >= 3 {
			st.run = r - 3
			*acc = st
		}
		_, err := s.RunTensors(in)
		require.NoError(t, err)
	}
	col := make([]int64, runs)
	var sum, sumw int64
	for i := 0; i < n; i++ {
		for r := range col {
			col[r] = st.thread[r][i]
		}
		slices.Sort(col)
		lo := col[0]
		for r := range col {
			col[r] = st.wall[r][i]
		}
		slices.Sort(col)
		sum += lo
		sumw += col[0]
		var shapes []string
		for _, id := range s.steps[i].in {
			if id >= 0 {
				if v := s.model.Graph.Values[s.nameOf(id)]; v != nil {
					sh := ""
					for j, d := range v.Shape {
						if j > 0 {
							sh += "x"
						}
						sh += strconv.Itoa(d.Size)
					}
					shapes = append(shapes, sh)
				}
			}
		}
		t.Logf("STEP %3d %8.1f %8.1f %-14s %-36T %s %s", i, float64(lo)/1e3, float64(col[0])/1e3, s.steps[i].node.OpType, s.steps[i].kernel.(scaledKernel).inner, s.steps[i].node.Name, strings.Join(shapes, " "))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("SUM cpu %.1f us wall %.1f us, load %s", float64(sum)/1e3, float64(sumw)/1e3, strings.TrimSpace(string(load)))
}
