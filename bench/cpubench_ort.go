package bench

// ONNX Runtime side by side in RunCPUBench (CPUBenchOptions.ORT): the same
// files, the same input, the same number of threads, timed in the same rounds
// as our executors, after checking that ORT's float32 outputs are ours.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
)

// addORTTimers appends ORT's float32 and int8 timers. ours are our float32
// outputs on floatIn (nil when float32 is not timed). The returned cleanup
// removes the temporary model files.
func addORTTimers(res *CPUBenchResult, timers *[]*timer, floatModel, int8Model, bench *graph.Model,
	floatIn, int8In, ours map[string]*graph.Tensor, opts CPUBenchOptions) (func(), error) {
	cleanup := func() {}
	if err := ortoracle.Available(); err != nil {
		return cleanup, fmt.Errorf("onnx runtime: %w", err)
	}
	dir, err := os.MkdirTemp("", "warboy-cpubench-")
	if err != nil {
		return cleanup, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	// fileOf is the ONNX file of m: the benchmarked file itself, or a copy.
	fileOf := func(m *graph.Model, name string) (string, error) {
		if m == bench && opts.ModelPath != "" {
			return opts.ModelPath, nil
		}
		p := filepath.Join(dir, name)
		return p, m.Save(p)
	}
	if floatModel != nil {
		path, err := fileOf(floatModel, "float32.onnx")
		if err != nil {
			return cleanup, err
		}
		ref, err := ortoracle.Run(path, floatIn, opts.Threads)
		if err != nil {
			return cleanup, fmt.Errorf("onnx runtime float32: %w", err)
		}
		d, err := maxRelDiff(ours, ref)
		if err != nil {
			return cleanup, err
		}
		res.ORTMaxRelDiff = &d
		if d > 1e-3 {
			res.Notes = append(res.Notes, fmt.Sprintf("ONNX Runtime's float32 outputs differ from ours by %.3g of their magnitude", d))
		}
		res.ORTFloat32 = &LatencyStats{Mode: "onnxruntime float32"}
		*timers = append(*timers, ortTimer(path, floatIn, opts.Threads, res.ORTFloat32))
	}
	if int8Model != nil {
		path, err := fileOf(int8Model, "int8.onnx")
		if err != nil {
			return cleanup, err
		}
		res.ORTInt8 = &LatencyStats{Mode: "onnxruntime int8"}
		*timers = append(*timers, ortTimer(path, int8In, opts.Threads, res.ORTInt8))
	}
	return cleanup, nil
}

// ortTimer times ORT: every round is a fresh ORT process and session, so
// every round warms up (two runs at least).
func ortTimer(path string, in map[string]*graph.Tensor, threads int, st *LatencyStats) *timer {
	return &timer{st: st, run: func(warmup, iterations int, d time.Duration) ([]float64, []float64, error) {
		lat, cpu, err := ortoracle.BenchCPU(path, in, threads, max(warmup, 2), iterations)
		if err != nil {
			return nil, nil, err
		}
		// Keep going (in further calls) until the duration is reached.
		var total float64
		for _, l := range lat {
			total += l
		}
		for d > 0 && time.Duration(total*1e6) < d {
			more, moreCPU, err := ortoracle.BenchCPU(path, in, threads, 2, iterations)
			if err != nil {
				return nil, nil, err
			}
			for _, l := range more {
				total += l
			}
			lat = append(lat, more...)
			if cpu != nil && moreCPU != nil {
				cpu = append(cpu, moreCPU...)
			} else {
				cpu = nil
			}
		}
		return lat, cpu, nil
	}}
}

// maxRelDiff is max |a - b| / max |b| over the float outputs (float32, and the
// float16 or float64 of such models) both have.
func maxRelDiff(a, b map[string]*graph.Tensor) (float64, error) {
	var d, scale float64
	n := 0
	for name, t := range a {
		r := b[name]
		if r == nil || !t.DType.IsFloat() || t.DType != r.DType {
			continue
		}
		x, errX := t.AsFloat64()
		y, errY := r.AsFloat64()
		if errX != nil || errY != nil {
			continue
		}
		if len(x) != len(y) {
			return 0, fmt.Errorf("output %q: %d values, ONNX Runtime %d", name, len(x), len(y))
		}
		n++
		for i := range x {
			d = math.Max(d, math.Abs(x[i]-y[i]))
			scale = math.Max(scale, math.Abs(y[i]))
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("no float output to compare with ONNX Runtime")
	}
	if scale == 0 {
		return d, nil
	}
	return d / scale, nil
}
