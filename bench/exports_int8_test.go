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
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// exportedFiles lists the exported models to check: the file named by
// WARBOY_BENCH_MODEL, or every .onnx in the directory named by WARBOY_BENCH_MODELS.
func exportedFiles(t *testing.T) []string {
	if f := os.Getenv("WARBOY_BENCH_MODEL"); f != "" {
		return []string{f}
	}
	dir := os.Getenv(envExports)
	if dir == "" {
		t.Skip("neither WARBOY_BENCH_MODEL nor " + envExports + " is set")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.onnx"))
	require.NoError(t, err)
	sort.Strings(files)
	require.NotEmpty(t, files)
	return files
}

// TestExportedModelsInt8AgreeWithORT quantizes each exported model as `bench cpu`
// does (PERCENTILE_ASYM on 8 synthetic inputs), then runs the QDQ file through our
// int8 executor and through ONNX Runtime on one input and compares the outputs
// (SQNR of ours against ORT's). Both executors requantize in float, but rounding
// ties and the order of float sums differ, and one-step differences compound
// through a deep random-weight network (MobileNetV2/V3 land at 19-23 dB, most
// CNNs at 34-37 dB, AlexNet and VGG bit-exact): the 10 dB floor catches a wrong
// operator or layout, not rounding drift:
//
//	WARBOY_BENCH_MODEL=$PWD/out/bench-models-unseen/resnet18.onnx go test ./bench -run TestExportedModelsInt8AgreeWithORT -v
func TestExportedModelsInt8AgreeWithORT(t *testing.T) {
	files := exportedFiles(t)
	if err := ortoracle.Available(); err != nil {
		t.Skip(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m, err := graph.Load(f)
			require.NoError(t, err)
			method, err := quantizer.ParseMethod("PERCENTILE_ASYM")
			require.NoError(t, err)
			prep, err := Prepare(m, PrepareOptions{Samples: 8, Method: method})
			require.NoError(t, err)
			q := filepath.Join(t.TempDir(), "int8.onnx")
			require.NoError(t, prep.Model.Save(q))
			s, err := runtime.NewSession(prep.Model, runtime.WithMode(runtime.ModeInt8))
			require.NoError(t, err)
			in, err := SyntheticInputsGraph(prep.Model.Graph, s.Inputs(), 1, nil, 1)
			require.NoError(t, err)
			ours, err := s.RunTensors(in)
			require.NoError(t, err)
			ref, err := ortoracle.Run(q, in, 2)
			require.NoError(t, err)
			for _, o := range s.Outputs() {
				a, b := ours[o.Name].F32(), ref[o.Name].F32()
				require.Equal(t, len(b), len(a), "output %s", o.Name)
				var sig, noise float64
				for i := range a {
					sig += float64(b[i]) * float64(b[i])
					noise += (float64(a[i]) - float64(b[i])) * (float64(a[i]) - float64(b[i]))
				}
				d, scale := maxAbsDiff(a, b)
				if noise == 0 {
					// Identical (random-weight EfficientNets quantize their tiny logits to all zeros).
					t.Logf("%s: int8 ours and ORT identical (max |ORT| = %.3g)", o.Name, scale)
					continue
				}
				sqnr := 10 * math.Log10(sig/noise)
				t.Logf("%s: int8 ours vs ORT SQNR %.1f dB, max |ours - ORT| / max |ORT| = %.3g", o.Name, sqnr, d/scale)
				require.GreaterOrEqual(t, sqnr, 10.0, "int8 output %s differs from ONNX Runtime's", o.Name)
			}
		})
	}
}
