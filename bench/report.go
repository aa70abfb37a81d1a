package bench

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/npu"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// ReportOptions configure Run, the combined accuracy-and-latency report.
type ReportOptions struct {
	// Model is the float32 model to quantize; Name labels it in the report.
	Model *graph.Model
	Name  string
	// Eval is the labelled evaluation set; Calib the calibration set (dataset.Open, or
	// dataset.FromDataset for an in-memory set).
	Eval, Calib *dataset.Set
	// Methods to compare (default: all ten).
	Methods []quantizer.Method
	// CalibN is the number of calibration images (default 1000, capped by Calib.N).
	CalibN int
	// EvalN limits the evaluation images (0 = all).
	EvalN int
	// CompareN is the number of images of the per-layer error report (default 200).
	CompareN int
	// WorstLayers is how many layers the report lists per method (default 3).
	WorstLayers int
	// Mode is the Warboy mode whose throughput is reported (default fused); latency is
	// always reported for single-PE and fused.
	Mode npu.Mode
	// Percentile parameterises the PERCENTILE methods (default 99.99).
	Percentile float64
	// CPU benchmark settings (see CPUBenchOptions): batch 1 by default.
	CPUIterations int
	Threads       int
	// Shapes binds symbolic input dimensions for the CPU latency runs (--input-shape);
	// when nil, the first evaluation sample's shapes are used.
	Shapes map[string][]int
	// Progress receives one line per step.
	Progress func(stage string, done, total int)
}

// MethodReport is one calibration method's row.
type MethodReport struct {
	Method        string  `json:"method"`
	FloatAccuracy float64 `json:"float_accuracy"`
	Int8Accuracy  float64 `json:"int8_accuracy"`
	// Ratio is Int8Accuracy / FloatAccuracy.
	Ratio float64 `json:"ratio"`
	// WorstLayers are the tensors with the lowest SQNR (float vs int8 run).
	WorstLayers []quantizer.LayerError `json:"worst_layers"`
	// Simulated Warboy latency (end to end, with host Quantize/Dequantize and PCIe) and
	// NPU-only latency per mode, in microseconds.
	SimSingleUS    float64 `json:"sim_single_us"`
	SimFusedUS     float64 `json:"sim_fused_us"`
	SimNPUFusedUS  float64 `json:"sim_npu_fused_us"`
	SimThroughput  float64 `json:"sim_throughput_ips"`
	SimMode        string  `json:"sim_mode"`
	MACUtilization float64 `json:"sim_mac_utilization"`
	// CPUInt8 is the int8 executor's latency on this CPU.
	CPUInt8       *LatencyStats `json:"cpu_int8"`
	Int8SizeBytes int64         `json:"int8_size_bytes"`
	Best          bool          `json:"best"`
	Seconds       float64       `json:"seconds"`
}

// Report is the outcome of Run. Its JSON form is documented in docs/cli.md and is
// stable: fields may be added, never renamed or removed.
type Report struct {
	Model          string         `json:"model"`
	Data           string         `json:"data"`
	EvalImages     int            `json:"eval_images"`
	CalibImages    int            `json:"calib_images"`
	FloatAccuracy  float64        `json:"float_accuracy"`
	FloatSizeBytes int64          `json:"float_size_bytes"`
	CPUFloat32     *LatencyStats  `json:"cpu_float32"`
	Threads        int            `json:"threads"`
	Int8Path       string         `json:"int8_kernel_path"`
	F32Path        string         `json:"f32_kernel_path"`
	Methods        []MethodReport `json:"methods"`
	Best           string         `json:"best_method"`
	WallSeconds    float64        `json:"wall_seconds"`
}

// Run quantizes the model with every requested method and measures, for each, int8
// accuracy against float, the worst layers, Warboy's simulated latency and the CPU
// latency. It calls the same functions as `warboy quantize`, `eval`, `compare`, `sim`
// and `bench cpu`, so each figure equals what those commands print.
func Run(o ReportOptions) (*Report, error) {
	start := time.Now()
	if o.Model == nil || o.Eval == nil || o.Calib == nil {
		return nil, errors.New("report: model, evaluation data and calibration data are required")
	}
	if len(o.Methods) == 0 {
		o.Methods = quantizer.Methods()
	}
	if o.CalibN <= 0 {
		o.CalibN = 1000
	}
	if o.CompareN <= 0 {
		o.CompareN = 200
	}
	if o.WorstLayers <= 0 {
		o.WorstLayers = 3
	}
	if o.Mode == "" {
		o.Mode = npu.ModeFused
	}
	if o.CPUIterations <= 0 {
		o.CPUIterations = 50
	}
	progress := func(stage string, done, total int) {
		if o.Progress != nil {
			o.Progress(stage, done, total)
		}
	}
	rep := &Report{Model: o.Name, Data: o.Eval.Name, Int8Path: kernels.Int8Path(), F32Path: kernels.F32Path()}

	floatSess, err := runtime.NewSession(o.Model, runtime.WithMode(runtime.ModeFloat), runtime.WithThreads(o.Threads))
	if err != nil {
		return nil, fmt.Errorf("float32 session: %w", err)
	}
	evalFeed, calibFeed := o.Eval.Head(o.EvalN), o.Calib.Head(o.CalibN)
	progress("float32 accuracy", 0, 1)
	fres, err := EvaluateSet(floatSess, o.Eval, EvalOptions{N: o.EvalN})
	if err != nil {
		return nil, fmt.Errorf("float32 evaluation: %w", err)
	}
	rep.FloatAccuracy, rep.EvalImages = fres.Accuracy, fres.Images
	if rep.FloatSizeBytes, err = modelSize(o.Model); err != nil {
		return nil, err
	}
	if o.Shapes == nil && o.Eval.Len() > 0 {
		o.Shapes = o.Eval.SampleShapes(0) // the data binds symbolic dimensions
	}
	progress("float32 CPU latency", 0, 1)
	cpuF, err := RunCPUBench(o.Model, CPUBenchOptions{Threads: o.Threads, Iterations: o.CPUIterations, Shapes: o.Shapes})
	if err != nil {
		return nil, fmt.Errorf("float32 CPU benchmark: %w", err)
	}
	rep.CPUFloat32, rep.Threads = cpuF.Float32, cpuF.Threads

	// One calibration pass serves every method: the statistics (histograms, min/max)
	// do not depend on the method, only the range search does.
	progress("calibration", 0, calibFeed.Len())
	cal, err := quantizer.Calibrate(o.Model, o.Methods[0], calibFeed, quantizer.CalibOptions{
		Percentile: o.Percentile, Threads: o.Threads,
		Progress: func(done, total int) { progress("calibration", done, total) },
	})
	if err != nil {
		return nil, err
	}
	rep.CalibImages = cal.Samples()
	for i, m := range o.Methods {
		t0 := time.Now()
		progress("method "+m.String(), i, len(o.Methods))
		mr, err := runMethod(o, cal, m, evalFeed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		mr.FloatAccuracy = rep.FloatAccuracy
		if rep.FloatAccuracy > 0 {
			mr.Ratio = mr.Int8Accuracy / rep.FloatAccuracy
		}
		mr.Seconds = time.Since(t0).Seconds()
		rep.Methods = append(rep.Methods, *mr)
	}
	best := 0
	for i, m := range rep.Methods {
		if m.Int8Accuracy > rep.Methods[best].Int8Accuracy {
			best = i
		}
	}
	rep.Methods[best].Best = true
	rep.Best = rep.Methods[best].Method
	rep.WallSeconds = time.Since(start).Seconds()
	return rep, nil
}

func runMethod(o ReportOptions, cal *quantizer.Calibrator, m quantizer.Method, evalFeed *dataset.Set) (*MethodReport, error) {
	ranges, _, err := cal.ComputeRangesFor(m)
	if err != nil {
		return nil, err
	}
	q, err := quantizer.Quantize(o.Model, ranges, quantizer.QuantOptions{CalibMethod: m.String(), CalibSamples: cal.Samples(), Percentile: o.Percentile,
		RowSpread: cal.RowSpread()})
	if err != nil {
		return nil, err
	}
	mr := &MethodReport{Method: m.String(), SimMode: string(o.Mode)}
	if mr.Int8SizeBytes, err = modelSize(q); err != nil {
		return nil, err
	}
	sess, err := runtime.NewSession(q, runtime.WithThreads(o.Threads))
	if err != nil {
		return nil, fmt.Errorf("int8 session: %w", err)
	}
	ev, err := EvaluateSet(sess, o.Eval, EvalOptions{N: o.EvalN})
	if err != nil {
		return nil, fmt.Errorf("int8 evaluation: %w", err)
	}
	mr.Int8Accuracy = ev.Accuracy
	cmp, err := quantizer.Compare(o.Model, q, evalFeed, min(o.CompareN, evalFeed.Len()), quantizer.CompareOptions{Threads: o.Threads})
	if err != nil {
		return nil, fmt.Errorf("per-layer comparison: %w", err)
	}
	layers := append([]quantizer.LayerError(nil), cmp.Layers...)
	sort.SliceStable(layers, func(i, j int) bool { return layers[i].SQNR < layers[j].SQNR })
	if len(layers) > o.WorstLayers {
		layers = layers[:o.WorstLayers]
	}
	mr.WorstLayers = layers
	for _, mode := range []npu.Mode{npu.ModeSingle, npu.ModeFused} {
		r, err := npu.Simulate(q, npu.Config{Mode: mode, Batch: 1})
		if err != nil {
			return nil, fmt.Errorf("simulation (%s): %w", mode, err)
		}
		if mode == npu.ModeSingle {
			mr.SimSingleUS = r.LatencyUS
		} else {
			mr.SimFusedUS, mr.SimNPUFusedUS, mr.MACUtilization = r.LatencyUS, r.NPULatencyUS, r.MACUtilization
		}
		if mode == o.Mode {
			mr.SimThroughput = r.ThroughputIPS
		}
	}
	if o.Mode == npu.Mode2PE {
		r, err := npu.Simulate(q, npu.Config{Mode: npu.Mode2PE, Batch: 1})
		if err != nil {
			return nil, fmt.Errorf("simulation (2pe): %w", err)
		}
		mr.SimThroughput = r.ThroughputIPS
	}
	cpu, err := RunCPUBench(q, CPUBenchOptions{Threads: o.Threads, Iterations: o.CPUIterations, Shapes: o.Shapes})
	if err != nil {
		return nil, fmt.Errorf("int8 CPU benchmark: %w", err)
	}
	mr.CPUInt8 = cpu.Int8
	return mr, nil
}

func modelSize(m *graph.Model) (int64, error) {
	b, err := m.Encode()
	if err != nil {
		return 0, err
	}
	return int64(len(b)), nil
}

// pct formats a fraction as a percentage.
func pct(v float64) string { return fmt.Sprintf("%.2f %%", 100*v) }

func fmtDB(d quantizer.DB) string {
	if math.IsInf(float64(d), 0) {
		return "inf"
	}
	return fmt.Sprintf("%.1f", float64(d))
}
