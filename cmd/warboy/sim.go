package main

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/warboy-sim/warboy/bench"
	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/atomicfile"
	"github.com/warboy-sim/warboy/npu"
	"github.com/warboy-sim/warboy/quantizer"
)

func init() {
	register(&command{name: "sim", summary: "simulate a model on the Warboy NPU: latency, throughput, timeline", run: simCmd})
}

// simJSON is the --json document: the report plus how the model was prepared.
type simJSON struct {
	*npu.Report
	Source      string `json:"source"`
	Preparation string `json:"preparation"`
	TraceFile   string `json:"trace_file"`
}

func simCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", "MODEL|zoo:NAME [--mode single|fused|2pe] [--batch N] [--input-shape NAME=d0,d1,...] [--pool-qparams file|input] [--trace trace.json] [--json] [--profile P.json] [--data DIR]", stderr)
	modeStr := fs.String("mode", "fused", "PE mode: single (1 PE, 64 slices), fused (2 PEs as one, 128 slices), 2pe (two independent PEs)")
	batch := fs.Int("batch", 0, "images per request (default: the model's static batch, the leading size --input-shape gives, or 1); a static batch of 1 is re-batched")
	inflight := fs.Int("in-flight", 0, "requests in flight (default 1; 2 in 2pe mode)")
	aliasFlag(fs, "inflight", "in-flight")
	requests := fs.Int("requests", 0, "requests to simulate (default 1, or 4 x inflight)")
	tracePath := fs.String("trace", "", "write a Chrome trace JSON (open it in ui.perfetto.dev)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	profilePath := fs.String("profile", "", "hardware profile JSON (may be partial: it overrides the default warboy-v1 profile)")
	printProfile := fs.Bool("print-profile", false, "print the effective profile as JSON and exit")
	data := fs.String("data", "", "calibration data for float models: "+dataHelp)
	preprocess := addPreprocessFlag(fs)
	calib := fs.Int("calib-n", 0, "calibration samples (default: all of --data, or 4 random samples)")
	aliasFlag(fs, "calib", "calib-n")
	methodStr := fs.String("method", "MIN_MAX_ASYM", "calibration method for float models")
	timingOnly := fs.Bool("timing-only", false, "time a float model as int8 without quantizing it (no functional outputs)")
	prelowered := fs.Bool("prelowered", false, "inputs quantized and lowered outside the timed region, raw outputs (MLPerf harness)")
	quantIn := fs.Bool("quantized-input", false, "the input is already uint8/int8: no host Quantize")
	functional := fs.Bool("functional", false, "also compute the outputs with the int8 runtime")
	opsRows := fs.Int("ops", 40, "operator rows to print (0 = all)")
	inputShapes := addInputShapeFlag(fs)
	poolQ := addPoolQParamsFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	prof := npu.Default()
	if *profilePath != "" {
		if prof, err = npu.LoadProfile(*profilePath); err != nil {
			return err
		}
	}
	if *printProfile {
		b, err := prof.JSON()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	if *tracePath != "" {
		if err := atomicfile.CheckWritable(*tracePath); err != nil {
			return err
		}
	}
	if len(pos) != 1 {
		return usageErr("sim takes one MODEL (an ONNX file or zoo:NAME; zoo models: %s)", strings.Join(zoo.Names(), ", "))
	}
	mode, err := npu.ParseMode(*modeStr)
	if err != nil {
		return usageErr("%v", err)
	}
	if *batch < 0 {
		return usageErr("--batch %d must be at least 1", *batch)
	}
	method, err := quantizer.ParseMethod(*methodStr)
	if err != nil {
		return usageErr("%v", err)
	}
	source := pos[0]
	var m *graph.Model
	isZoo := strings.HasPrefix(source, "zoo:")
	if isZoo {
		// Timing alone needs no weights: the large zoo networks build in milliseconds.
		if m, err = zoo.Build(source, zoo.Options{ShapeOnly: *timingOnly && !*functional}); err != nil {
			return usageErr("%v", err)
		}
	} else if m, err = loadModel(source, stderr); err != nil {
		return err
	} else {
		m = poolQ.apply(m, stderr)
	}
	if err := inputShapes.share(m.Graph); err != nil {
		return err
	}
	// Symbolic height/width (and any other non-batch dimension) come from
	// --input-shape, or else from the first sample of --data (as quantize and bench
	// cpu take them); without either the command fails naming the dimension, before
	// any calibration work.
	if *data != "" && !isZoo {
		if err := bindFromData(m, *data, *preprocess, inputShapes, *batch, stderr); err != nil {
			return err
		}
	}
	if m, err = npu.BindInputShapes(m, inputShapes); err != nil {
		return err
	}
	if *batch == 0 {
		// A symbolic leading dimension given with --input-shape is the batch: it is
		// not replaced by 1 (a sequence-first model's sequence length would be lost).
		if *batch, err = givenLeadingDim(m.Graph, inputShapes); err != nil {
			return err
		}
		if *batch == 0 {
			// Leading dimensions that are not a batch (EmbeddingBag's tokens and
			// offsets, a time-major RNN's x and h0) take the given sizes too.
			m = bindLeadingDims(m, inputShapes)
		}
	}
	if _, err := graph.ResolveInputShapes(m.Graph, max(*batch, 1), nil); err != nil {
		return err
	}
	cfg := npu.Config{Mode: mode, Batch: *batch, InFlight: *inflight, Requests: *requests, Profile: prof,
		PreLowered: *prelowered, QuantizedInput: *quantIn, AssumeInt8: *timingOnly, Functional: *functional,
		Trace: *tracePath != ""}
	prepNote, err := prepareForSim(&m, isZoo, *timingOnly, *data, *preprocess, *calib, method, stderr)
	if err != nil {
		return err
	}
	rep, err := npu.Simulate(m, cfg)
	if err != nil {
		return err
	}
	if *tracePath != "" {
		if err := writeTraceFile(*tracePath, rep); err != nil {
			return err
		}
	}
	if *asJSON {
		// The lists are lists even when empty.
		rep.SpilledTensors = nonNil(rep.SpilledTensors)
		rep.HostFallbacks = nonNil(rep.HostFallbacks)
		rep.Warnings = nonNil(rep.Warnings)
		return writeJSON(stdout, simJSON{Report: rep, Source: source, Preparation: prepNote, TraceFile: *tracePath})
	}
	printSimReport(stdout, rep, source, prepNote, *opsRows)
	if *tracePath != "" {
		fmt.Fprintf(stdout, "\ntrace: %s (%d events; open in https://ui.perfetto.dev or chrome://tracing)\n", *tracePath, len(rep.TraceEvents()))
	}
	return nil
}

// bindFromData adds to shapes, for each input with a symbolic dimension that shapes
// does not give, the shape of that input in the first sample of the data set (its
// leading dimension set to batch when batch is given and the model's is symbolic).
func bindFromData(m *graph.Model, dir, preprocess string, shapes inputShapes, batch int, stderr io.Writer) error {
	var open []*graph.Value
	for _, in := range modelInputs(m.Graph) {
		if _, given := shapes[in.Name]; given || !in.HasShape {
			continue
		}
		for _, d := range in.Shape {
			if !d.Known() {
				open = append(open, in)
				break
			}
		}
	}
	if len(open) == 0 {
		return nil
	}
	set, err := loadCalibData(dir, preprocess, m)
	if err != nil {
		return err
	}
	if set.Len() == 0 {
		return nil
	}
	sample := set.SampleShapes(0)
	bound := inputShapes{}
	for _, in := range open {
		s, ok := sample[in.Name]
		if !ok || len(s) != len(in.Shape) {
			continue
		}
		s = append([]int(nil), s...)
		if batch > 0 && !in.Shape[0].Known() {
			s[0] = batch
		}
		shapes[in.Name], bound[in.Name] = s, s
	}
	if len(bound) > 0 {
		fmt.Fprintf(stderr, "note: input shapes from the first sample of %s: %s\n", dir, bound)
	}
	return nil
}

// prepareForSim quantizes a float model unless --timing-only: zoo models get the
// quantizer's graph with synthetic ranges (fast, timing only), files are calibrated on
// --data or on random data like furiosa-litmus.
func prepareForSim(m **graph.Model, isZoo, timingOnly bool, dataDir, preprocess string, calib int, method quantizer.Method, stderr io.Writer) (string, error) {
	model := *m
	if timingOnly {
		return "timed as int8 without quantization (--timing-only)", nil
	}
	if model.Graph.IsQuantized() {
		return "already quantized", nil
	}
	if isZoo && dataDir == "" {
		q, err := zoo.Quantized(model)
		if err != nil {
			return "", err
		}
		*m = q
		return fmt.Sprintf("quantized to QDQ with synthetic ranges %v (zoo model, random weights)", zoo.SyntheticRange), nil
	}
	opts := bench.PrepareOptions{Method: method, Samples: calib, Warn: func(s string) { fmt.Fprintln(stderr, "note:", s) }}
	what := ""
	if dataDir != "" {
		feed, err := loadCalibData(dataDir, preprocess, model)
		if err != nil {
			return "", err
		}
		if feed.Groups() > 1 {
			// The simulator's calibration batches samples without regard to shape: keep
			// the first shape group.
			feed = feed.Head(feed.GroupEnd(0))
			fmt.Fprintf(stderr, "note: --data holds samples of several shapes; calibrating on the %d of the first shape\n", feed.Len())
		}
		opts.Data = feed
		what = "from " + dataDir
	}
	start := time.Now()
	prep, err := bench.Prepare(model, opts)
	if err != nil {
		return "", err
	}
	*m = prep.Model
	if prep.RandomData {
		what = "random inputs, like furiosa-litmus"
	}
	return fmt.Sprintf("quantized to QDQ: %s calibration on %d samples (%s) in %s", prep.Method, prep.Samples, what,
		time.Since(start).Round(time.Millisecond)), nil
}

func loadCalibData(dir, preprocess string, m *graph.Model) (*dataset.Set, error) {
	return loadCalibSet(dir, preprocess, m, nil)
}

// writeTraceFile writes the trace atomically (a failure leaves no partial file).
func writeTraceFile(path string, rep *npu.Report) error {
	var b bytes.Buffer
	if err := rep.WriteTrace(&b); err != nil {
		return fmt.Errorf("--trace %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b.Bytes())
}

func mib(b int64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }

func printSimReport(w io.Writer, r *npu.Report, source, prep string, rows int) {
	fmt.Fprintf(w, "model       %s (%s)\n", r.Model, source)
	fmt.Fprintf(w, "prepared    %s\n", prep)
	fmt.Fprintf(w, "profile     %s; mode %s, %d MAC/cycle, SRAM %s; batch %d, %d in flight, %d simulated\n",
		r.Profile, r.Mode, r.PeakMACsPerCycle, mib(r.SRAMCapacity), r.Batch, r.InFlight, r.Requests)
	hostIO := "host Quantize/Lower/Unlower/Dequantize included"
	if r.PreLowered {
		hostIO = "input pre-lowered, raw output (MLPerf harness)"
	}
	fmt.Fprintf(w, "latency     %.1f us end to end (%s); NPU %.1f us = %d cycles\n", r.LatencyUS, hostIO, r.NPULatencyUS, r.Cycles)
	if r.Requests > 1 {
		fmt.Fprintf(w, "            mean %.1f us over %d requests\n", r.MeanLatencyUS, r.Requests)
	}
	fmt.Fprintf(w, "throughput  %.0f inferences/s\n", r.ThroughputIPS)
	fmt.Fprintf(w, "compute     %s MACs, MAC utilization %.1f%%\n", fmtCount(r.MACs), 100*r.MACUtilization)
	fmt.Fprintf(w, "DRAM        %s read, %s written (weights %s); PCIe %s\n", mib(r.DRAMReadBytes), mib(r.DRAMWriteBytes), mib(r.WeightBytes), mib(r.PCIeBytes))
	fmt.Fprintf(w, "SRAM        peak %s of %s", mib(r.SRAMPeakBytes), mib(r.SRAMCapacity))
	if len(r.SpilledTensors) > 0 {
		fmt.Fprintf(w, "; %d activations spilled to DRAM", len(r.SpilledTensors))
	}
	fmt.Fprintln(w)
	s := r.Split
	fmt.Fprintf(w, "time split  compute (MAC) %.1f us, vector %.1f us, dram %.1f us, host %.1f us, pcie %.1f us, overhead %.1f us\n",
		s.ComputeUS, s.VectorUS, s.DRAMUS, s.HostUS, s.PCIeUS, s.OverheadUS)
	var units []string
	for _, u := range r.Units {
		units = append(units, fmt.Sprintf("%s %.0f%%", u.Name, 100*u.Utilization))
	}
	fmt.Fprintf(w, "unit busy   %s\n", strings.Join(units, ", "))
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "warning     %s\n", wn)
	}
	if len(r.HostFallbacks) > 0 {
		fmt.Fprintf(w, "host fallbacks (%d):\n", len(r.HostFallbacks))
		for _, f := range r.HostFallbacks {
			fmt.Fprintf(w, "  %-30s %-14s %8.1f us  %s\n", f.Name, f.OpType, f.CostUS, f.Reason)
		}
	}
	if r.Outputs != nil {
		fmt.Fprintf(w, "outputs     computed with the %s runtime:", r.FunctionalMode)
		for _, k := range sortedKeys(r.Outputs) {
			fmt.Fprintf(w, " %s%v", k, r.Outputs[k].Shape)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nNPU operators by kind (as FuriosaAI's profiler groups them):")
	var krows [][]string
	for _, a := range r.KindAverages() {
		krows = append(krows, []string{a.Kind, fmt.Sprint(a.Count), fmt.Sprintf("%.1f", a.MeanNS), fmt.Sprintf("%.1f", a.SumNS/1e3)})
	}
	table(w, []string{"kind", "count", "mean ns", "total us"}, krows)
	fmt.Fprintln(w, "\nper-operator timeline (first request):")
	var orow [][]string
	for i, o := range r.Ops {
		if rows > 0 && i >= rows {
			break
		}
		util := ""
		if o.MACs > 0 {
			util = fmt.Sprintf("%.1f%%", 100*o.Utilization)
		}
		name := o.Name
		if len(o.Fused) > 0 {
			name += " +" + strings.Join(o.Fused, "+")
		}
		orow = append(orow, []string{fmt.Sprint(i), name, o.Kind, string(o.Engine), fmt.Sprintf("%.2f", o.StartUS), fmt.Sprintf("%.2f", o.EndUS),
			fmt.Sprint(o.Cycles), fmtCount(o.MACs), util, fmtCount(o.DRAMBytes),
			fmt.Sprintf("%.2f", o.ComputeUS), fmt.Sprintf("%.2f", o.StallUS), fmt.Sprintf("%.2f", o.OverheadUS), o.Bound})
	}
	// work = the operator's unit busy (MAC array, vector engine, host or PCIe), dram =
	// waiting for DMA, ovh = its fixed cost: where each operator's time goes.
	table(w, []string{"#", "operator", "kind", "engine", "start us", "end us", "cycles", "MACs", "util", "DRAM B", "work us", "dram us", "ovh us", "bound"}, orow)
	if rows > 0 && len(r.Ops) > rows {
		fmt.Fprintf(w, "(%d more operators; --ops 0 shows all)\n", len(r.Ops)-rows)
	}
	fmt.Fprintf(w, "\nsimulator   %.1f ms wall (compile %.1f ms, simulate %.1f ms), %d tasks, %d events, %.2g events/s, %.3g simulated cycles/s\n",
		r.Sim.WallMS, r.Sim.CompileMS, r.Sim.SimulateMS, r.Sim.Tasks, r.Sim.Events, r.Sim.EventsPerSec, r.Sim.SimCyclesPerSec)
}

func sortedKeys(m map[string]*graph.Tensor) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// givenLeadingDim is the size --input-shape gives to the symbolic leading dimension
// of the model's inputs (0 when none is given); two different sizes of one batch are
// an error. Leading dimensions named differently (EmbeddingBag's "ntok" tokens and
// "nbags" offsets) are not a batch: the given shapes bind them, and there is no
// common batch (0).
// bindLeadingDims returns m with the symbolic leading dimension of each input given
// in given bound to its size (npu.BindInputShapes leaves it symbolic: a batch).
func bindLeadingDims(m *graph.Model, given map[string][]int) *graph.Model {
	g := *m.Graph
	g.Inputs = nil
	g.Values = make(map[string]*graph.Value, len(m.Graph.Values))
	for k, v := range m.Graph.Values {
		g.Values[k] = v
	}
	for _, in := range m.Graph.Inputs {
		v := *in
		if s, ok := given[in.Name]; ok && v.HasShape && len(v.Shape) == len(s) && len(s) > 0 && !v.Shape[0].Known() {
			v.Shape = append(graph.Shape(nil), in.Shape...)
			v.Shape[0] = graph.Dim{Size: s[0]}
		}
		g.Inputs = append(g.Inputs, &v)
		g.Values[in.Name] = &v
	}
	cp := *m
	cp.Graph = &g
	return &cp
}

func givenLeadingDim(g *graph.Graph, given map[string][]int) (int, error) {
	lead, from, param := 0, "", ""
	for _, in := range g.Inputs {
		s, ok := given[in.Name]
		if !ok || len(s) == 0 || !in.HasShape || len(in.Shape) == 0 || in.Shape[0].Known() {
			continue
		}
		p := in.Shape[0].Param
		if lead != 0 && p != "" && param != "" && p != param {
			return 0, nil
		}
		if lead != 0 && s[0] != lead {
			return 0, fmt.Errorf("--input-shape gives the leading (batch) dimension of %q as %d and of %q as %d; give --batch", from, lead, in.Name, s[0])
		}
		lead, from, param = s[0], in.Name, p
	}
	// A time-major recurrent model (x [time, batch, C], h0 [layers, batch, H]):
	// another input's static leading size other than 1 says the leading
	// dimensions are not a common batch; the given shapes bind them as they are.
	for _, in := range g.Inputs {
		if lead != 0 && in.HasShape && len(in.Shape) > 0 && in.Shape[0].Known() {
			if d := in.Shape[0].Size; d != 1 && d != lead {
				return 0, nil
			}
		}
	}
	return lead, nil
}
