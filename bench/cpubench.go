package bench

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand"
	goruntime "runtime"
	"slices"
	"sort"
	"time"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime"
)

// CPUBenchOptions configure RunCPUBench.
type CPUBenchOptions struct {
	// Batch is the batch size of the synthetic input (default 1). Models with a fixed
	// batch dimension use theirs.
	Batch int
	// Threads is the number of threads the kernels may use (default GOMAXPROCS).
	Threads int
	// Warmup runs are not timed (default 3).
	Warmup int
	// Iterations is the minimum number of timed runs (default 20).
	Iterations int
	// Duration, when set, keeps timing until at least this much time has passed
	// (and at least Iterations runs were done).
	Duration time.Duration
	// Quantized is the int8 model to time when the benchmarked model is float32 (e.g.
	// produced by quantizer.Quantize). Without it only float32 is timed.
	Quantized *graph.Model
	// Float is the float32 model to time when the benchmarked model is already
	// quantized. Without it only int8 is timed: a quantized model's float32 latency is
	// not the float model's (it would execute QuantizeLinear/DequantizeLinear in float).
	Float *graph.Model
	// Requant selects the int8 requantization arithmetic ("float" or "fixed").
	Requant string
	// Seed seeds the synthetic input (default 1).
	Seed int64
	// Shapes binds inputs' symbolic dimensions (--input-shape); the batch dimension of
	// a bound input is the bound one.
	Shapes map[string][]int
	// ORT also times ONNX Runtime (internal/ortoracle) on the same files, the same
	// input and the same number of threads: the float32 model (ModelPath) and the
	// int8 model, interleaved with ours round by round (cpubench_ort.go).
	ORT bool
	// ModelPath is the ONNX file of the benchmarked model (ORT reads it; a model
	// without one is written to a temporary file).
	ModelPath string
	// Rounds splits the timed runs of every executor into this many rounds,
	// run one executor after the other, so that all of them share the machine's
	// load alike (default 1; 3 with ORT).
	Rounds int
	// Inputs, when set, are the timed inputs (for every executor) instead of
	// synthetic ones; inputs it does not name are synthesized. For inputs whose
	// values cannot be drawn without knowing what they mean (an int64 mask, a
	// length): synthetic data is never guessed for them.
	Inputs map[string]*graph.Tensor
}

// LatencyStats summarises the timed runs of one executor. Latencies are per run (one
// batch), throughput is images (batch items) per second at the mean latency.
type LatencyStats struct {
	Mode       string  `json:"mode"`
	Iterations int     `json:"iterations"`
	MinMs      float64 `json:"min_ms"`
	MeanMs     float64 `json:"mean_ms"`
	P50Ms      float64 `json:"p50_ms"`
	P95Ms      float64 `json:"p95_ms"`
	P99Ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	Throughput float64 `json:"throughput_per_s"`
	// CPUMinMs, CPUP50Ms and CPUMeanMs summarise the process CPU time (user +
	// system, every thread of the process) of each timed run, in milliseconds;
	// 0 where it was not measured. On a loaded machine they move far less
	// than the latencies: time the process waits for a core is not counted.
	// The threads of a pool that spin while waiting count, so compare them at
	// one thread (scripts/cpu_ratio_sweep.sh).
	CPUMinMs  float64 `json:"cpu_min_ms"`
	CPUP50Ms  float64 `json:"cpu_p50_ms"`
	CPUMeanMs float64 `json:"cpu_mean_ms"`
	// Fallback lists the nodes of an int8 session that run in float32.
	Fallback []string `json:"fallback_nodes"`
}

// CPUBenchResult is the outcome of RunCPUBench.
type CPUBenchResult struct {
	Model    string `json:"model"`
	Batch    int    `json:"batch"`
	Threads  int    `json:"threads"`
	Int8Path string `json:"int8_kernel_path"`
	F32Path  string `json:"f32_kernel_path"`
	// F32ConvPath is the path of the channels-last convolution kernels
	// (kernels.RowsPath): "avx512", "avx2" or "go".
	F32ConvPath string        `json:"f32_conv_kernel_path"`
	Requant     string        `json:"requant"`
	Float32     *LatencyStats `json:"float32"`
	Int8        *LatencyStats `json:"int8"`
	// ORTFloat32 and ORTInt8 are ONNX Runtime's latencies on the same files
	// (with ORT; null without).
	ORTFloat32 *LatencyStats `json:"ort_float32"`
	ORTInt8    *LatencyStats `json:"ort_int8"`
	// ORTMaxRelDiff is max |ours - ORT| / max |ORT| over the float32 outputs on
	// the benchmark input (with ORT; null without): the two executors compute the same model.
	ORTMaxRelDiff *float64 `json:"ort_float32_max_rel_diff"`
	// Speedup is the float32 mean latency divided by the int8 mean latency (0 when
	// one of them was not measured).
	Speedup float64  `json:"int8_speedup"`
	Notes   []string `json:"notes"`
}

// RunCPUBenchFile loads an ONNX file and benchmarks it (see RunCPUBench).
func RunCPUBenchFile(path string, opts CPUBenchOptions) (*CPUBenchResult, error) {
	m, err := graph.Load(path)
	if err != nil {
		return nil, err
	}
	if opts.ModelPath == "" {
		opts.ModelPath = path
	}
	r, err := RunCPUBench(m, opts)
	if err != nil {
		return nil, err
	}
	r.Model = path
	return r, nil
}

// RunCPUBench times the float32 executor and the int8 executor on synthetic input.
// m is either a float32 model (timed in float32; opts.Quantized, if given, is timed
// int8) or a quantized model (timed int8; opts.Float, if given, is timed float32).
func RunCPUBench(m *graph.Model, opts CPUBenchOptions) (*CPUBenchResult, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("cpu bench: nil model")
	}
	if opts.Batch <= 0 {
		opts.Batch = 1
	}
	if opts.Threads <= 0 {
		opts.Threads = goruntime.GOMAXPROCS(0)
	}
	if opts.Warmup < 0 {
		opts.Warmup = 0
	} else if opts.Warmup == 0 {
		opts.Warmup = 3
	}
	if opts.Iterations <= 0 {
		opts.Iterations = 20
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	requant := opts.Requant
	if requant == "" {
		requant = "float"
	}
	res := &CPUBenchResult{Model: m.Graph.Name, Batch: opts.Batch, Threads: opts.Threads,
		Int8Path: kernels.Int8Path(), F32Path: kernels.F32Path(), F32ConvPath: kernels.RowsPath(), Requant: requant, Notes: []string{}}
	floatModel, int8Model := m, opts.Quantized
	if m.Graph.IsQuantized() {
		floatModel, int8Model = opts.Float, m
		if floatModel == nil {
			res.Notes = append(res.Notes, "the model is already quantized: float32 latency is measured only when the float model is given")
		}
	} else if int8Model == nil {
		res.Notes = append(res.Notes, "no quantized model given: int8 latency not measured")
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 1
		if opts.ORT {
			opts.Rounds = 3
		}
	}
	var timers []*timer
	var inputs, int8In, ours map[string]*graph.Tensor
	if floatModel != nil {
		// --input-shape must reach the float32 model as it reaches the
		// quantized one: planned without the shapes, its shape subgraphs stay
		// live and the shape-dependent rewrites cannot run.
		bound, err := floatModel.WithInputShapes(opts.Shapes)
		if err != nil {
			return nil, err
		}
		s, err := runtime.NewSession(bound, runtime.WithMode(runtime.ModeFloat), runtime.WithThreads(opts.Threads))
		if err != nil {
			return nil, fmt.Errorf("float32 session: %w", err)
		}
		if inputs, err = timedInputs(bound.Graph, s.Inputs(), opts); err != nil {
			return nil, err
		}
		res.Float32 = &LatencyStats{Mode: "float32"}
		timers = append(timers, sessionTimer(s, inputs, res.Float32))
		if opts.ORT {
			if ours, err = s.RunTensors(inputs); err != nil {
				return nil, fmt.Errorf("float32: %w", err)
			}
		}
	}
	if int8Model != nil {
		ropts := []runtime.Option{runtime.WithMode(runtime.ModeInt8), runtime.WithThreads(opts.Threads), runtime.WithRequant(requant)}
		// The bound shapes reach the int8 session as they reach the float32
		// one: unbound, a model with symbolic sizes (an attention block's
		// sequence lengths) kept its shape subgraph live in the int8 session
		// only, 46 int64 steps per run of mha_cross_op12, and the int8 run
		// cost 23x the float32 one (docs/runtime.md, sixteenth session).
		boundQ, err := int8Model.WithInputShapes(opts.Shapes)
		if err != nil {
			return nil, fmt.Errorf("int8 model: %w", err)
		}
		s, err := runtime.NewSession(boundQ, ropts...)
		if err != nil {
			return nil, fmt.Errorf("int8 session: %w", err)
		}
		in, err := timedInputs(int8Model.Graph, s.Inputs(), opts)
		if err != nil {
			return nil, err
		}
		// Same data when the input types agree (the quantized model takes float input).
		for k, t := range inputs {
			if it, ok := in[k]; ok && it.DType == t.DType && slices.Equal(it.Shape, t.Shape) {
				in[k] = t
			}
		}
		res.Int8 = &LatencyStats{Mode: "int8", Fallback: []string{}} // JSON: [] when every node runs int8
		timers = append(timers, sessionTimer(s, in, res.Int8))
		int8In = in
		for _, p := range s.Placement {
			if !p.Int8 {
				res.Int8.Fallback = append(res.Int8.Fallback, fmt.Sprintf("%s %s", p.OpType, p.Node))
			}
		}
	}
	if opts.ORT {
		cleanup, err := addORTTimers(res, &timers, floatModel, int8Model, m, inputs, int8In, ours, opts)
		defer cleanup()
		if err != nil {
			return nil, err
		}
	}
	if err := runTimers(timers, opts); err != nil {
		return nil, err
	}
	if res.Float32 != nil && res.Int8 != nil && res.Int8.MeanMs > 0 {
		res.Speedup = res.Float32.MeanMs / res.Int8.MeanMs
	}
	return res, nil
}

// timedInputs are opts.Inputs for the inputs it names (checked against the
// session's inputs) and synthetic data for the others.
func timedInputs(g *graph.Graph, vals []*graph.Value, opts CPUBenchOptions) (map[string]*graph.Tensor, error) {
	if len(opts.Inputs) == 0 {
		return SyntheticInputsGraph(g, vals, opts.Batch, opts.Shapes, opts.Seed)
	}
	known := map[string]bool{}
	var rest []*graph.Value
	for _, v := range vals {
		known[v.Name] = true
		if opts.Inputs[v.Name] == nil {
			rest = append(rest, v)
		}
	}
	for name := range opts.Inputs {
		if !known[name] {
			return nil, fmt.Errorf("given input %q is not an input of the model", name)
		}
	}
	out := map[string]*graph.Tensor{}
	if len(rest) > 0 {
		syn, err := SyntheticInputsGraph(g, rest, opts.Batch, opts.Shapes, opts.Seed)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, syn)
	}
	for _, v := range vals {
		if t := opts.Inputs[v.Name]; t != nil {
			if v.DType != graph.Undefined && t.DType != v.DType {
				return nil, fmt.Errorf("input %q: given %s data, the model takes %s", v.Name, t.DType, v.DType)
			}
			out[v.Name] = t
		}
	}
	return out, nil
}

// SyntheticInputs makes deterministic random inputs for the described model inputs:
// float32 uniform in [-1, 1), uint8/int8 uniform over their range, bool true with
// probability 1/2 (masks), int64/int32 indices only with SyntheticInputsGraph. Unknown leading
// dimensions take batch; other unknown dimensions are an error.
func SyntheticInputs(vals []*graph.Value, batch int, seed int64) (map[string]*graph.Tensor, error) {
	return SyntheticInputsFor(vals, batch, nil, seed)
}

// SyntheticInputsFor is SyntheticInputs with inputs' shapes bound by shapes (the
// --input-shape flag) where given.
func SyntheticInputsFor(vals []*graph.Value, batch int, shapes map[string][]int, seed int64) (map[string]*graph.Tensor, error) {
	return syntheticInputs(vals, batch, shapes, nil, seed)
}

// SyntheticInputsGraph is SyntheticInputsFor for the inputs of g: integer inputs
// that index a table (token ids into an embedding, IndexBounds) are drawn uniformly
// from its rows; other integer inputs are refused (no valid range is known).
func SyntheticInputsGraph(g *graph.Graph, vals []*graph.Value, batch int, shapes map[string][]int, seed int64) (map[string]*graph.Tensor, error) {
	return syntheticInputs(vals, batch, shapes, IndexBounds(g), seed)
}

func syntheticInputs(vals []*graph.Value, batch int, shapes map[string][]int, bounds map[string]int, seed int64) (map[string]*graph.Tensor, error) {
	rng := rand.New(rand.NewSource(seed))
	out := map[string]*graph.Tensor{}
	for _, v := range vals {
		var shape []int
		if s, ok := shapes[v.Name]; ok {
			if err := graph.CheckInputShape(v, s); err != nil {
				return nil, err
			}
			shape = append([]int(nil), s...)
		} else if !v.HasShape {
			return nil, fmt.Errorf("input %q has no declared shape; give it with --input-shape %s=d0,d1,...", v.Name, v.Name)
		} else {
			shape = make([]int, len(v.Shape))
			for i, d := range v.Shape {
				switch {
				case d.Known():
					shape[i] = d.Size
				case i == 0:
					shape[i] = batch
				default:
					return nil, fmt.Errorf("input %q: dimension %d (%s) of %s is symbolic; give it with --input-shape %s=d0,d1,...", v.Name, i, d, v.Shape, v.Name)
				}
			}
		}
		if _, err := graph.CheckNumElements(shape); err != nil {
			return nil, fmt.Errorf("input %q at batch %d: %w", v.Name, batch, err)
		}
		t := graph.NewTensor(v.DType, shape)
		switch d := t.Data.(type) {
		case []float32:
			for i := range d {
				d[i] = rng.Float32()*2 - 1
			}
		case []float64: // a model.double() export
			for i := range d {
				d[i] = rng.Float64()*2 - 1
			}
		case []uint16:
			if v.DType != graph.Float16 {
				return nil, fmt.Errorf("input %q: synthetic data of type %s is not supported", v.Name, v.DType)
			}
			// A float16 model without keep_io_types: float16 bits of [-1, 1).
			for i := range d {
				d[i] = graph.Float32ToFloat16(rng.Float32()*2 - 1)
			}
		case []uint8:
			for i := range d {
				d[i] = uint8(rng.Intn(256))
			}
		case []int8:
			for i := range d {
				d[i] = int8(rng.Intn(256) - 128)
			}
		case []bool:
			// Masks (a transformer's key padding mask): half set, so that
			// no row is all one value except by chance.
			for i := range d {
				d[i] = rng.Intn(2) == 1
			}
		case []int64:
			b, err := indexBound(bounds, v)
			if err != nil {
				return nil, err
			}
			for i := range d {
				d[i] = int64(rng.Intn(b))
			}
		case []int32:
			b, err := indexBound(bounds, v)
			if err != nil {
				return nil, err
			}
			for i := range d {
				d[i] = int32(rng.Intn(b))
			}
		default:
			return nil, fmt.Errorf("input %q: synthetic data of type %s is not supported", v.Name, v.DType)
		}
		out[v.Name] = t
	}
	return out, nil
}

// roundWarmup is the number of untimed runs of each executor at the start of
// every round after the first (see runTimers).
const roundWarmup = 2

// timer is one executor of a benchmark: run does warmup untimed runs and
// then iterations timed ones (and keeps going until the duration is reached)
// and returns their latencies and their process CPU times in milliseconds
// (cpu nil when not measured); the rounds accumulate into st.
type timer struct {
	st       *LatencyStats
	lat, cpu []float64
	run      func(warmup, iterations int, d time.Duration) (lat, cpu []float64, err error)
}

func sessionTimer(s *runtime.Session, in map[string]*graph.Tensor, st *LatencyStats) *timer {
	return &timer{st: st, run: func(warmup, iterations int, d time.Duration) ([]float64, []float64, error) {
		for i := 0; i < warmup; i++ {
			if _, err := s.RunTensors(in); err != nil {
				return nil, nil, err
			}
		}
		var lat, cpu []float64
		start := time.Now()
		for len(lat) < iterations || time.Since(start) < d {
			c0, okCPU := processCPUMs()
			t0 := time.Now()
			if _, err := s.RunTensors(in); err != nil {
				return nil, nil, err
			}
			lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e6)
			if c1, ok := processCPUMs(); ok && okCPU {
				cpu = append(cpu, c1-c0)
			}
		}
		return lat, cpu, nil
	}}
}

// runTimers runs the executors one after the other, opts.Rounds times, each
// round timing about Iterations/Rounds runs (and Duration/Rounds), then fills
// their statistics.
//
// Every round after the first starts with roundWarmup untimed runs of each
// executor (fewer if opts.Warmup is smaller): its timed runs then follow a
// run of its own, not the other executors' (a fresh ONNX Runtime process,
// another session), which leave its weights out of cache and its threads
// parked. ORT's timer warms up every round anyway (a fresh process, two runs
// at least); ours used to start timing at once, so that with 10 rounds of 3
// runs every third timed run of ours was such a cold one, and on a 2-core
// machine the next ones too (idle gaps of 300 ms before groups of 4 runs of
// MobileNetV3-Small at 2 threads: 2.4-2.9, 2.1-2.2, 1.7-1.8, 1.5-1.8 ms; the
// same session back to back 1.4-1.7 ms; docs/runtime.md, "Small models at 2
// threads (tenth session)").
func runTimers(timers []*timer, opts CPUBenchOptions) error {
	per := max(1, (opts.Iterations+opts.Rounds-1)/opts.Rounds)
	for r := 0; r < opts.Rounds; r++ {
		warm := min(opts.Warmup, roundWarmup)
		if r == 0 {
			warm = opts.Warmup
		}
		for _, t := range timers {
			lat, cpu, err := t.run(warm, per, opts.Duration/time.Duration(opts.Rounds))
			if err != nil {
				return fmt.Errorf("%s: %w", t.st.Mode, err)
			}
			t.lat = append(t.lat, lat...)
			t.cpu = append(t.cpu, cpu...)
		}
	}
	for _, t := range timers {
		st := LatencyFromMs(t.lat)
		st.Mode, st.Fallback = t.st.Mode, t.st.Fallback
		if len(t.cpu) > 0 {
			c := LatencyFromMs(t.cpu)
			st.CPUMinMs, st.CPUP50Ms, st.CPUMeanMs = c.MinMs, c.P50Ms, c.MeanMs
		}
		if st.MeanMs > 0 {
			st.Throughput = float64(opts.Batch) * 1000 / st.MeanMs
		}
		*t.st = *st
	}
	return nil
}

// LatencyFromMs summarises latencies in milliseconds (percentiles by the
// nearest-rank method). Throughput is left to the caller.
func LatencyFromMs(lat []float64) *LatencyStats {
	st := &LatencyStats{Iterations: len(lat)}
	if len(lat) == 0 {
		return st
	}
	s := append([]float64(nil), lat...)
	sort.Float64s(s)
	var sum float64
	for _, v := range s {
		sum += v
	}
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return s[max(0, min(len(s)-1, i))]
	}
	st.MinMs, st.MaxMs = s[0], s[len(s)-1]
	st.MeanMs = sum / float64(len(s))
	st.P50Ms, st.P95Ms, st.P99Ms = rank(50), rank(95), rank(99)
	return st
}
