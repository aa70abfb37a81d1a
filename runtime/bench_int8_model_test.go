//go:build unix

package runtime_test

// BenchmarkInt8Model times the int8 executor on an already quantized ONNX file
// named by WARBOY_INT8_MODEL (for instance a QDQ export of out/bench-models made
// with `warboy quantize`), batch 1, with GOMAXPROCS threads (-cpu 1,2). It is the
// harness for CPU profiles of real exports:
//
//	WARBOY_INT8_MODEL=/tmp/resnet50_qdq.onnx go test ./runtime -run '^$' \
//	    -bench BenchmarkInt8Model -cpu 1 -benchtime 50x -cpuprofile cpu.prof

import (
	"math/rand"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

func BenchmarkInt8Model(b *testing.B) {
	path := os.Getenv("WARBOY_INT8_MODEL")
	if path == "" {
		b.Skip("WARBOY_INT8_MODEL is not set")
	}
	m, err := graph.Load(path)
	require.NoError(b, err)
	s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeInt8))
	require.NoError(b, err)
	rng := rand.New(rand.NewSource(1))
	in := map[string]*graph.Tensor{}
	for _, v := range s.Inputs() {
		shape := make([]int, len(v.Shape))
		for i, d := range v.Shape {
			shape[i] = max(d.Size, 1)
		}
		require.Equal(b, graph.Float32, v.DType, "input %q", v.Name)
		x := make([]float32, graph.NumElements(shape))
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		in[v.Name] = graph.FromFloat32(shape, x)
	}
	for range 3 {
		_, err := s.RunTensors(in)
		require.NoError(b, err)
	}
	cpu0 := processCPU()
	b.ResetTimer()
	for range b.N {
		if _, err := s.RunTensors(in); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU time of the whole process per run: on a shared machine it is less
	// disturbed than wall time by being descheduled (it still includes spinning
	// pool workers and the garbage collector).
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}

// processCPU is the user+system CPU time of the process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
