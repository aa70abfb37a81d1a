package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/warboy-sim/warboy/bench"
	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// benchCPUCommand implements `warboy bench cpu MODEL`: float32 and int8 latency of a
// model on this CPU. A float32 model is quantized first (default method, calibrated
// on the bundled Fashion-MNIST training images when its input fits them, else on
// synthetic data; zoo models get the zoo's synthetic ranges). An already quantized
// model is timed int8 only, unless its float32 original is given with --float.
func benchCPUCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench cpu", "MODEL|zoo:NAME [--batch N] [--threads T] [--float FLOAT.onnx] [--iterations N] [--warmup N] "+
		"[--min-time D] [--requant float|fixed] [--method M] [--calib-n N] [--calib-data DIR] [--preprocess SPEC] [--input-shape NAME=d0,d1,...] [--pool-qparams file|input] [--input FILE.npy|FILE.npz] [--ort] [--rounds N] [--json]", stderr)
	batch := fs.Int("batch", 1, "batch size of the timed runs")
	threads := fs.Int("threads", 0, "threads the kernels may use (0 = all cores)")
	floatPath := fs.String("float", "", "float32 original of an already quantized MODEL (timed as the float32 baseline)")
	iters := fs.Int("iterations", 20, "minimum number of timed runs per executor")
	warmup := fs.Int("warmup", 3, "untimed runs before timing")
	duration := fs.Duration("min-time", 0, "keep timing each executor for at least this long (e.g. 10s)")
	aliasFlag(fs, "duration", "min-time")
	requant := fs.String("requant", "float", "int8 requantization: float (ONNX Runtime's arithmetic) or fixed (gemmlowp/TFLite)")
	methodName := fs.String("method", defaultMethod, "calibration method when MODEL is float32: "+strings.Join(quantizer.MethodNames(), ", "))
	calibN := fs.Int("calib-n", 500, "calibration images when MODEL is float32")
	calibData := fs.String("calib-data", projectPath(defaultData), "calibration data: "+dataHelp)
	preprocess := addPreprocessFlag(fs)
	shapes := addInputShapeFlag(fs)
	poolQ := addPoolQParamsFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	withORT := fs.Bool("ort", false, "also time ONNX Runtime on the same files (float32 and int8), interleaved with ours, after comparing its float32 outputs with ours")
	rounds := fs.Int("rounds", 0, "split each executor's timed runs into this many interleaved rounds (default 1, 3 with --ort)")
	inputPath := fs.String("input", "", "time on this input (.npy: the one input; .npz: one array per input name) instead of synthetic data; inputs it does not name are synthesized")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("bench cpu takes one MODEL (an ONNX file or zoo:NAME; zoo models: %s)", strings.Join(zoo.Names(), ", "))
	}
	if *batch <= 0 || *iters <= 0 || *warmup < 0 || *calibN <= 0 || *rounds < 0 {
		return usageErr("--batch, --iterations and --calib-n must be > 0, --warmup and --rounds >= 0")
	}
	if *requant != "float" && *requant != "fixed" {
		return usageErr("--requant must be float or fixed, got %q", *requant)
	}
	method, err := quantizer.ParseMethod(*methodName)
	if err != nil {
		return usageErr("%v", err)
	}
	source := pos[0]
	var m *graph.Model
	isZoo := strings.HasPrefix(source, "zoo:")
	if isZoo {
		if m, err = zoo.Build(source, zoo.Options{}); err != nil {
			return usageErr("%v", err)
		}
	} else if m, err = loadModel(source, stderr); err != nil {
		return err
	}
	loaded := m
	m = poolQ.apply(m, stderr)
	if err := shapes.share(m.Graph); err != nil {
		return err
	}
	opts := bench.CPUBenchOptions{Batch: *batch, Threads: *threads, Iterations: *iters, Warmup: *warmup, Duration: *duration, Requant: *requant,
		Shapes: shapes, ORT: *withORT, Rounds: *rounds}
	if !isZoo && m == loaded {
		opts.ModelPath = source // ONNX Runtime reads the file; a rewritten model is saved for it
	}
	if *warmup == 0 {
		opts.Warmup = -1
	}
	var notes []string
	if *inputPath != "" {
		set, err := openData(*inputPath, "", "", m, shapes, 0)
		if err != nil {
			return err
		}
		if opts.Inputs, err = set.Batch(0, set.GroupEnd(0)); err != nil {
			return fmt.Errorf("%s: %w", *inputPath, err)
		}
		if len(shapes) == 0 {
			// The given data binds the symbolic dimensions.
			opts.Shapes = map[string][]int{}
			for k, t := range opts.Inputs {
				opts.Shapes[k] = t.Shape
			}
		}
		notes = append(notes, fmt.Sprintf("timed on %s: %s", *inputPath, inputShapes(opts.Shapes)))
	}
	if len(shapes) == 0 && *inputPath == "" && !isZoo && !m.Graph.IsQuantized() {
		// The calibration data binds symbolic dimensions (at --batch).
		if set := calibFeedFor(m, calibSource{*calibData, "train", *preprocess, shapes}, 1); set != nil {
			bound := map[string][]int{}
			for k, v := range set.SampleShapes(0) {
				bound[k] = append([]int{*batch}, v[1:]...)
			}
			opts.Shapes = bound
			notes = append(notes, fmt.Sprintf("input shapes from the first sample of %s: %s", set.Name, inputShapes(bound)))
		}
	}
	if m.Graph.IsQuantized() {
		if *floatPath != "" {
			if opts.Float, err = loadModel(*floatPath, stderr); err != nil {
				return err
			}
		}
	} else {
		if *floatPath != "" {
			return usageErr("--float is for quantized models; %s is float32", source)
		}
		start := time.Now()
		q, note, err := quantizeForBench(m, isZoo, method, calibSource{*calibData, "train", *preprocess, shapes}, *calibN, *threads)
		if err != nil {
			return fmt.Errorf("quantizing %s: %w", source, err)
		}
		opts.Quantized = q
		notes = append(notes, fmt.Sprintf("%s (%.1fs)", note, time.Since(start).Seconds()))
	}
	res, err := bench.RunCPUBench(m, opts)
	if err != nil {
		return err
	}
	res.Model = source
	res.Notes = append(nonNil(notes), res.Notes...)
	if *asJSON {
		return writeJSON(stdout, res)
	}
	printCPUBench(stdout, res)
	return nil
}

// quantizeForBench makes the int8 model of a float32 model.
func quantizeForBench(m *graph.Model, isZoo bool, method quantizer.Method, src calibSource, n, threads int) (*graph.Model, string, error) {
	if isZoo {
		q, err := zoo.Quantized(m)
		return q, fmt.Sprintf("quantized to QDQ with the zoo's synthetic ranges %v (random weights)", zoo.SyntheticRange), err
	}
	var data quantizer.Batches
	var note string
	if feed := calibFeedFor(m, src, n); feed != nil {
		data = feed
		note = fmt.Sprintf("quantized to QDQ with %s calibrated on %d samples of %s", method, feed.Len(), feed.Name)
	} else {
		sb := &syntheticBatches{g: m.Graph, vals: modelInputs(m.Graph), shapes: src.shapes, n: min(n, 32)}
		data = sb
		note = fmt.Sprintf("quantized to QDQ with %s calibrated on %d synthetic inputs (uniform [-1, 1)): the --calib-data samples (%s) do not fit the model input", method, sb.n, src.path)
	}
	cal, err := quantizer.Calibrate(m, method, data, quantizer.CalibOptions{Threads: threads})
	if err != nil {
		return nil, "", err
	}
	r, err := cal.ComputeRanges()
	if err != nil {
		return nil, "", err
	}
	q, err := quantizer.Quantize(m, r, quantizer.QuantOptions{CalibMethod: method.String(), CalibSamples: data.Len(), RowSpread: cal.RowSpread()})
	return q, note, err
}

// syntheticBatches feeds deterministic random inputs for models the bundled images
// do not fit.
type syntheticBatches struct {
	g      *graph.Graph // for the range of integer (index) inputs
	vals   []*graph.Value
	shapes map[string][]int
	n      int
}

func (s *syntheticBatches) Len() int { return s.n }

func (s *syntheticBatches) Batch(start, n int) (map[string]*graph.Tensor, error) {
	shapes := map[string][]int{}
	for k, v := range s.shapes {
		shapes[k] = append([]int{n}, v[1:]...) // the batch of this call
	}
	return bench.SyntheticInputsGraph(s.g, s.vals, n, shapes, int64(start)+1)
}

func printCPUBench(w io.Writer, r *bench.CPUBenchResult) {
	fmt.Fprintf(w, "%s: batch %d, %d threads, int8 kernels %s, float32 kernels %s, requantization %s\n\n",
		r.Model, r.Batch, r.Threads, r.Int8Path, f32KernelsLabel(r.F32Path, r.F32ConvPath), r.Requant)
	var rows [][]string
	for _, st := range []*bench.LatencyStats{r.Float32, r.ORTFloat32, r.Int8, r.ORTInt8} {
		if st == nil {
			continue
		}
		rows = append(rows, []string{st.Mode, fmt.Sprint(st.Iterations), fmtMs(st.MinMs), fmtMs(st.MeanMs), fmtMs(st.P50Ms), fmtMs(st.P95Ms), fmtMs(st.P99Ms),
			fmt.Sprintf("%.1f", st.Throughput)})
	}
	table(w, []string{"executor", "runs", "min ms", "mean ms", "p50 ms", "p95 ms", "p99 ms", "images/s"}, rows)
	if r.ORTMaxRelDiff != nil {
		fmt.Fprintf(w, "\nfloat32 outputs vs ONNX Runtime: max |ours - ORT| / max |ORT| = %.2g\n", *r.ORTMaxRelDiff)
	}
	for _, p := range [][2]*bench.LatencyStats{{r.Float32, r.ORTFloat32}, {r.Int8, r.ORTInt8}} {
		if p[0] != nil && p[1] != nil && p[1].P50Ms > 0 && p[1].MinMs > 0 {
			fmt.Fprintf(w, "%s / %s: p50 %.2fx, min %.2fx\n", p[0].Mode, p[1].Mode, p[0].P50Ms/p[1].P50Ms, p[0].MinMs/p[1].MinMs)
		}
	}
	printCPUTimes(w, r)
	if r.Speedup > 0 {
		fmt.Fprintf(w, "\nint8 speedup over float32 (mean): %.2fx (int8 latency = %.2f x float32)\n", r.Speedup, 1/r.Speedup)
	}
	if r.Int8 != nil && len(r.Int8.Fallback) > 0 {
		fmt.Fprintf(w, "\nnodes running in float32 in the int8 session: %s\n", strings.Join(r.Int8.Fallback, ", "))
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// printCPUTimes prints each executor's process CPU time per run and the
// ratios of the medians: on a loaded machine at one thread these hold
// where the latency ratios do not (the time waiting for a core is not
// counted).
func printCPUTimes(w io.Writer, r *bench.CPUBenchResult) {
	var parts []string
	for _, st := range []*bench.LatencyStats{r.Float32, r.ORTFloat32, r.Int8, r.ORTInt8} {
		if st != nil && st.CPUP50Ms > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f (min %.2f)", st.Mode, st.CPUP50Ms, st.CPUMinMs))
		}
	}
	if len(parts) == 0 {
		return
	}
	fmt.Fprintf(w, "\nprocess CPU time per run, p50 ms: %s\n", strings.Join(parts, ", "))
	for _, p := range [][2]*bench.LatencyStats{{r.Float32, r.ORTFloat32}, {r.Int8, r.ORTInt8}, {r.Int8, r.Float32}} {
		if p[0] != nil && p[1] != nil && p[0].CPUP50Ms > 0 && p[1].CPUP50Ms > 0 {
			fmt.Fprintf(w, "%s / %s, CPU time: p50 %.2fx, min %.2fx\n", p[0].Mode, p[1].Mode, p[0].CPUP50Ms/p[1].CPUP50Ms, p[0].CPUMinMs/p[1].CPUMinMs)
		}
	}
}

func fmtMs(v float64) string { return fmt.Sprintf("%.2f", v) }

// calibFeedFor opens the calibration data for a float32 model, or returns nil when
// there is no such data or it does not fit the model input (synthetic data is used
// then, and the report says so).
func calibFeedFor(m *graph.Model, src calibSource, n int) *dataset.Set {
	set, err := openData(src.path, src.split, src.preprocess, m, src.shapes, n)
	if err != nil {
		set, err = openData(src.path, "t10k", src.preprocess, m, src.shapes, n)
	}
	if err != nil {
		return nil
	}
	return set
}
