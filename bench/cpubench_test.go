package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// WARBOY_INT8_FULL=1 runs the full matrix of TestInt8AgreesWithORT (3 models x every
// calibration method x 10,000 test images); the default run checks one model and one
// method on 1,000 images. WARBOY_BENCH_ORT=1 runs TestCPUBenchSideBySide.
const (
	envFull  = "WARBOY_INT8_FULL"
	envBench = "WARBOY_BENCH_ORT"
)

func repoPath(t testing.TB, rel string) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, rel)
		}
		require.NotEqual(t, d, filepath.Dir(d), "go.mod not found")
	}
}

// quantizeForTest calibrates a float model on the training images and quantizes it
// with the given method (QDQ).
func quantizeForTest(t testing.TB, fm *graph.Model, train *dataset.Dataset, method quantizer.Method, samples int) *graph.Model {
	t.Helper()
	cal, err := quantizer.NewCalibrator(fm, method, quantizer.CalibOptions{})
	require.NoError(t, err)
	name := cal.Inputs()[0].Name
	for i := 0; i < samples; i += 100 {
		require.NoError(t, cal.Collect(map[string]*graph.Tensor{name: train.Batch(i, min(100, samples-i))}))
	}
	r, err := cal.ComputeRanges()
	require.NoError(t, err)
	q, err := quantizer.Quantize(fm, r, quantizer.QuantOptions{CalibMethod: method.String(), CalibSamples: samples})
	require.NoError(t, err)
	return q
}

type agreement struct {
	model, method           string
	images                  int
	top1Agree, within1      float64
	maxSteps                float64
	accInt8, accORT, accEvl float64
}

func TestInt8AgreesWithORT(t *testing.T) {
	if err := ortoracle.Available(); err != nil {
		t.Skip(err)
	}
	full := os.Getenv(envFull) != ""
	models := []string{"fmnist_cnn"}
	methods := []quantizer.Method{quantizer.MinMaxAsym}
	images := 1000
	if full {
		models = []string{"fmnist_mlp", "fmnist_cnn", "fmnist_resnet"}
		methods = quantizer.Methods()
		images = 10000
	}
	dsDir := repoPath(t, "testdata/fashion-mnist")
	test, err := dataset.Load(dsDir, "t10k")
	require.NoError(t, err)
	train, err := dataset.Load(dsDir, "train")
	require.NoError(t, err)
	test = test.Subset(images)
	var results []agreement
	for _, name := range models {
		fm, err := graph.Load(repoPath(t, "testdata/models/"+name+".onnx"))
		require.NoError(t, err)
		for _, method := range methods {
			t.Run(name+"/"+method.String(), func(t *testing.T) {
				qm := quantizeForTest(t, fm, train, method, 1000)
				path := filepath.Join(t.TempDir(), "q.onnx")
				require.NoError(t, qm.Save(path))
				in := map[string]*graph.Tensor{"input": test.Batch(0, test.N)}
				ort, err := ortoracle.Run(path, in, 2)
				require.NoError(t, err)
				s, err := runtime.NewSession(qm, runtime.WithMode(runtime.ModeInt8))
				require.NoError(t, err)
				for _, p := range s.Placement {
					assert.True(t, p.Int8, "%s %s runs in float32", p.OpType, p.Node)
				}
				out := s.Outputs()[0].Name
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				qi, ok := s.QuantInfo(out)
				require.True(t, ok, "the output is not produced by an int8 tensor")
				a := compareLogits(t, got[out], ort[out], float64(qi.Scale), test.Labels)
				ev, err := Evaluate(s, test, EvalOptions{})
				require.NoError(t, err)
				a.model, a.method, a.images, a.accEvl = name, method.String(), test.N, ev.Accuracy
				results = append(results, a)
				t.Logf("top-1 agreement %.4f%%, within 1 step %.4f%%, max %.0f steps, accuracy int8 %.4f (Evaluate %.4f) ORT %.4f",
					100*a.top1Agree, 100*a.within1, a.maxSteps, a.accInt8, a.accEvl, a.accORT)
				assert.GreaterOrEqual(t, a.top1Agree, 0.999)
				assert.GreaterOrEqual(t, a.within1, 0.99)
				assert.Equal(t, a.accInt8, a.accEvl, "Evaluate must see the same int8 execution")
			})
		}
	}
	if full {
		var b strings.Builder
		b.WriteString("| model | method | images | top-1 agreement | within 1 step | max steps | int8 acc | ORT acc |\n|---|---|---|---|---|---|---|---|\n")
		for _, r := range results {
			fmt.Fprintf(&b, "| %s | %s | %d | %.2f%% | %.3f%% | %.0f | %.2f%% | %.2f%% |\n", r.model, r.method, r.images,
				100*r.top1Agree, 100*r.within1, r.maxSteps, 100*r.accInt8, 100*r.accORT)
		}
		t.Log("\n" + b.String())
	}
}

// TestInt8OtherFormatsAgreeWithORT checks the QOperator form (QLinearConv,
// QLinearMatMul, int8 data movement) and dynamic quantization (DynamicQuantizeLinear +
// MatMulInteger) against ONNX Runtime on 1,000 test images.
func TestInt8OtherFormatsAgreeWithORT(t *testing.T) {
	if err := ortoracle.Available(); err != nil {
		t.Skip(err)
	}
	dsDir := repoPath(t, "testdata/fashion-mnist")
	test, err := dataset.Load(dsDir, "t10k")
	require.NoError(t, err)
	train, err := dataset.Load(dsDir, "train")
	require.NoError(t, err)
	test = test.Subset(1000)
	for _, tc := range []struct {
		name, model string
		quantize    func(t *testing.T, fm *graph.Model) *graph.Model
		minAgree    float64
	}{
		{name: "qoperator", model: "fmnist_cnn", minAgree: 0.999, quantize: func(t *testing.T, fm *graph.Model) *graph.Model {
			cal, err := quantizer.NewCalibrator(fm, quantizer.MinMaxAsym, quantizer.CalibOptions{})
			require.NoError(t, err)
			require.NoError(t, cal.Collect(map[string]*graph.Tensor{cal.Inputs()[0].Name: train.Batch(0, 500)}))
			r, err := cal.ComputeRanges()
			require.NoError(t, err)
			q, err := quantizer.Quantize(fm, r, quantizer.QuantOptions{Format: quantizer.FormatQOperator})
			require.NoError(t, err)
			return q
		}},
		{name: "dynamic", model: "fmnist_mlp", minAgree: 0.999, quantize: func(t *testing.T, fm *graph.Model) *graph.Model {
			q, err := quantizer.QuantizeDynamic(fm, quantizer.DynamicOptions{})
			require.NoError(t, err)
			return q
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fm, err := graph.Load(repoPath(t, "testdata/models/"+tc.model+".onnx"))
			require.NoError(t, err)
			qm := tc.quantize(t, fm)
			path := filepath.Join(t.TempDir(), "q.onnx")
			require.NoError(t, qm.Save(path))
			in := map[string]*graph.Tensor{"input": test.Batch(0, test.N)}
			ort, err := ortoracle.Run(path, in, 2)
			require.NoError(t, err)
			var warns []string
			s, err := runtime.NewSession(qm, runtime.WithMode(runtime.ModeInt8), runtime.WithWarnings(func(w string) { warns = append(warns, w) }))
			require.NoError(t, err)
			assert.Empty(t, warns)
			out := s.Outputs()[0].Name
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			step := 1e-3
			if qi, ok := s.QuantInfo(out); ok {
				step = float64(qi.Scale)
			}
			a := compareLogits(t, got[out], ort[out], step, test.Labels)
			t.Logf("top-1 agreement %.2f%%, within 1 step %.3f%% (step %g), max %.2f steps, accuracy int8 %.4f ORT %.4f",
				100*a.top1Agree, 100*a.within1, step, a.maxSteps, a.accInt8, a.accORT)
			assert.GreaterOrEqual(t, a.top1Agree, tc.minAgree)
			assert.GreaterOrEqual(t, a.within1, 0.99)
		})
	}
}

func compareLogits(t *testing.T, got, want *graph.Tensor, step float64, labels []int) agreement {
	t.Helper()
	require.NotNil(t, got)
	require.NotNil(t, want)
	require.Equal(t, want.Shape, got.Shape)
	pg, err := dataset.Top1(got)
	require.NoError(t, err)
	pw, err := dataset.Top1(want)
	require.NoError(t, err)
	var a agreement
	same := 0
	for i := range pg {
		if pg[i] == pw[i] {
			same++
		}
	}
	a.top1Agree = float64(same) / float64(len(pg))
	gf, wf := got.F32(), want.F32()
	ok := 0
	for i := range gf {
		d := math.Abs(float64(gf[i])-float64(wf[i])) / step
		a.maxSteps = math.Max(a.maxSteps, d)
		if d <= 1+1e-3 {
			ok++
		}
	}
	a.within1 = float64(ok) / float64(len(gf))
	a.accInt8 = dataset.Accuracy(pg, labels)
	a.accORT = dataset.Accuracy(pw, labels)
	return a
}

func TestRunCPUBenchSmall(t *testing.T) {
	fm, err := graph.Load(repoPath(t, "testdata/models/fmnist_cnn.onnx"))
	require.NoError(t, err)
	test, err := dataset.Load(repoPath(t, "testdata/fashion-mnist"), "train")
	require.NoError(t, err)
	qm := quantizeForTest(t, fm, test, quantizer.MinMaxAsym, 100)
	for _, tc := range []struct {
		name      string
		model     *graph.Model
		opts      CPUBenchOptions
		wantF, wI bool
	}{
		{name: "float model with its quantized version", model: fm, opts: CPUBenchOptions{Quantized: qm, Batch: 2, Iterations: 3}, wantF: true, wI: true},
		{name: "float model alone", model: fm, opts: CPUBenchOptions{Iterations: 2}, wantF: true},
		{name: "quantized model alone", model: qm, opts: CPUBenchOptions{Iterations: 2, Requant: "fixed"}, wI: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := RunCPUBench(tc.model, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.wantF, r.Float32 != nil)
			assert.Equal(t, tc.wI, r.Int8 != nil)
			for _, st := range []*LatencyStats{r.Float32, r.Int8} {
				if st == nil {
					continue
				}
				assert.GreaterOrEqual(t, st.Iterations, tc.opts.Iterations)
				assert.True(t, st.MinMs <= st.P50Ms && st.P50Ms <= st.P95Ms && st.P95Ms <= st.P99Ms && st.P99Ms <= st.MaxMs, "%+v", st)
				assert.Greater(t, st.Throughput, 0.0)
				if _, ok := processCPUMs(); ok {
					// Each run's process CPU time, summarised like the latencies.
					assert.Greater(t, st.CPUMeanMs, 0.0, "%+v", st)
					assert.True(t, st.CPUMinMs <= st.CPUP50Ms && st.CPUP50Ms <= st.MaxMs*float64(2+goruntime.GOMAXPROCS(0)), "%+v", st)
				}
			}
			if r.Int8 != nil {
				assert.Empty(t, r.Int8.Fallback)
			}
			if !tc.wantF || !tc.wI {
				assert.NotEmpty(t, r.Notes)
			}
		})
	}
}

func TestLatencyFromMs(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want LatencyStats
	}{
		{name: "empty", in: nil, want: LatencyStats{}},
		{name: "one", in: []float64{2}, want: LatencyStats{Iterations: 1, MinMs: 2, MeanMs: 2, P50Ms: 2, P95Ms: 2, P99Ms: 2, MaxMs: 2}},
		{name: "nearest rank", in: []float64{5, 1, 4, 2, 3}, want: LatencyStats{Iterations: 5, MinMs: 1, MeanMs: 3, P50Ms: 3, P95Ms: 5, P99Ms: 5, MaxMs: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, *LatencyFromMs(tc.in))
		})
	}
}

func TestSyntheticInputs(t *testing.T) {
	vals := []*graph.Value{
		{Name: "x", DType: graph.Float32, HasShape: true, Shape: graph.Shape{{Size: -1, Param: "N"}, {Size: 3}}},
		{Name: "u", DType: graph.Uint8, HasShape: true, Shape: graph.Shape{{Size: 2}}},
	}
	in, err := SyntheticInputs(vals, 4, 1)
	require.NoError(t, err)
	assert.Equal(t, []int{4, 3}, in["x"].Shape)
	assert.Equal(t, []int{2}, in["u"].Shape)
	_, err = SyntheticInputs([]*graph.Value{{Name: "y", DType: graph.Float32, HasShape: true, Shape: graph.Shape{{Size: 1}, {Size: -1}}}}, 1, 1)
	assert.ErrorContains(t, err, "dimension 1")
}

// TestCPUBenchSideBySide measures the ResNet-50-sized model (zoo, batch 1): our
// float32 and int8 executors and ONNX Runtime's float32 and QDQ int8 execution, with
// the same thread count, interleaved to share the machine's load. It prints the
// table recorded in docs/runtime.md. Run with WARBOY_BENCH_ORT=1.
func TestCPUBenchSideBySide(t *testing.T) {
	if os.Getenv(envBench) == "" {
		t.Skipf("set %s=1 to run the side-by-side benchmark", envBench)
	}
	require.NoError(t, ortoracle.Available())
	threads := 2
	fm := zoo.ResNet50(zoo.Options{Batch: 1})
	qm, err := zoo.Quantized(fm)
	require.NoError(t, err)
	dir := t.TempDir()
	fp, qp := filepath.Join(dir, "resnet50.onnx"), filepath.Join(dir, "resnet50_int8.onnx")
	require.NoError(t, fm.Save(fp))
	require.NoError(t, qm.Save(qp))
	in, err := SyntheticInputs(fm.Graph.Inputs, 1, 1)
	require.NoError(t, err)
	fs, err := runtime.NewSession(fm, runtime.WithMode(runtime.ModeFloat), runtime.WithThreads(threads))
	require.NoError(t, err)
	qs, err := runtime.NewSession(qm, runtime.WithMode(runtime.ModeInt8), runtime.WithThreads(threads))
	require.NoError(t, err)
	lat := map[string][]float64{}
	var mu sync.Mutex
	ours := func(key string, s *runtime.Session, n int) {
		for i := 0; i < n; i++ {
			t0 := time.Now()
			_, err := s.RunTensors(in)
			require.NoError(t, err)
			mu.Lock()
			lat[key] = append(lat[key], float64(time.Since(t0).Nanoseconds())/1e6)
			mu.Unlock()
		}
	}
	ours("warboy float32", fs, 2) // warm-up
	ours("warboy int8", qs, 2)
	lat = map[string][]float64{}
	rounds := 5
	for r := 0; r < rounds; r++ {
		ours("warboy float32", fs, 4)
		ours("warboy int8", qs, 4)
		for _, m := range []struct{ key, path string }{{"onnxruntime float32", fp}, {"onnxruntime int8 (QDQ)", qp}} {
			l, err := ortoracle.Bench(m.path, in, threads, 3, 4)
			require.NoError(t, err)
			lat[m.key] = append(lat[m.key], l...)
		}
	}
	keys := make([]string, 0, len(lat))
	for k := range lat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "ResNet-50 (zoo), batch 1, %d threads, int8 path %s, f32 path %s (convolutions %s)\n", threads, kernels.Int8Path(), kernels.F32Path(), kernels.RowsPath())
	b.WriteString("| executor | runs | min ms | mean ms | p50 ms | p95 ms |\n|---|---|---|---|---|---|\n")
	stats := map[string]*LatencyStats{}
	for _, k := range keys {
		st := LatencyFromMs(lat[k])
		stats[k] = st
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %.1f | %.1f |\n", k, st.Iterations, st.MinMs, st.MeanMs, st.P50Ms, st.P95Ms)
	}
	wf, wi := stats["warboy float32"].P50Ms, stats["warboy int8"].P50Ms
	of, oi := stats["onnxruntime float32"].P50Ms, stats["onnxruntime int8 (QDQ)"].P50Ms
	fmt.Fprintf(&b, "int8/float32 (ours, p50): %.2f; our float32 / ORT float32: %.2f; our int8 / ORT int8: %.2f\n", wi/wf, wf/of, wi/oi)
	t.Log("\n" + b.String())
}
