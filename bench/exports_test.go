package bench

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

// envExports names the directory of the exported benchmark set
// (scripts/export_benchmodels.py writes out/bench-models).
const envExports = "WARBOY_BENCH_MODELS"

// TestExportedModelsAgreeWithORT runs every model of the exported benchmark set
// through our float32 executor (graph optimisation on and off) and through ONNX
// Runtime on the same input, and compares the outputs:
//
//	WARBOY_BENCH_MODELS=out/bench-models go test ./bench -run TestExportedModelsAgreeWithORT -v
func TestExportedModelsAgreeWithORT(t *testing.T) {
	dir := os.Getenv(envExports)
	if dir == "" {
		t.Skip(envExports + " not set")
	}
	if err := ortoracle.Available(); err != nil {
		t.Skip(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.onnx"))
	require.NoError(t, err)
	sort.Strings(files)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m, err := graph.Load(f)
			require.NoError(t, err)
			s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeFloat))
			require.NoError(t, err)
			in, err := SyntheticInputsGraph(m.Graph, s.Inputs(), 1, nil, 1) // token ids: below the table rows
			require.NoError(t, err)
			ours, err := s.RunTensors(in)
			require.NoError(t, err)
			ref, err := ortoracle.Run(f, in, 2)
			require.NoError(t, err)
			plain, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeFloat), runtime.WithGraphOptimization(false))
			require.NoError(t, err)
			unopt, err := plain.RunTensors(in)
			require.NoError(t, err)
			for _, o := range s.Outputs() {
				d, scale := maxAbsDiff(ours[o.Name].F32(), ref[o.Name].F32())
				du, _ := maxAbsDiff(ours[o.Name].F32(), unopt[o.Name].F32())
				t.Logf("%s: max |ours - ORT| = %.3g, max |optimised - unoptimised| = %.3g (max |ORT| = %.3g)", o.Name, d, du, scale)
				require.LessOrEqual(t, d, 1e-4*scale, "output %s differs from ONNX Runtime", o.Name)
				require.LessOrEqual(t, du, 1e-4*scale, "output %s: the optimised graph differs", o.Name)
			}
		})
	}
}

func maxAbsDiff(a, b []float32) (d, scale float64) {
	if len(a) != len(b) {
		return math.Inf(1), 0
	}
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		scale = math.Max(scale, math.Abs(float64(b[i])))
	}
	return d, scale
}
