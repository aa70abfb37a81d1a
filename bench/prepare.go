package bench

// Prepare sits here, not in npu, so that the simulator does not depend on the
// quantizer: bench is the layer that composes quantizer and npu.

import (
	"errors"
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
	"github.com/warboy-sim/warboy/quantizer"
)

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	// Method is the calibration method; the zero value is MIN_MAX_ASYM, what
	// furiosa-litmus uses to check that any model compiles.
	Method quantizer.Method
	// Data supplies calibration batches. Nil calibrates on random inputs (uniform in
	// [0, 1) for float inputs), like furiosa-litmus: good enough for timing, not for
	// accuracy.
	Data quantizer.Batches
	// Samples bounds the calibration samples read from Data (0: all of them), or is the
	// number of random samples (default 4).
	Samples int
	// BatchSize is the number of samples per calibration run (default 8).
	BatchSize int
	// Seed seeds the random calibration data.
	Seed int64
	// Format selects QDQ (default) or QOperator output.
	Format quantizer.Format
	// Progress reports calibration progress (samples done, total).
	Progress func(done, total int)
	// Warn receives the calibrator's and quantizer's notes.
	Warn func(string)
}

// Prepared is a model ready for Simulate.
type Prepared struct {
	Model *graph.Model
	// Quantized is false when the model was already quantized and is returned as is.
	Quantized bool
	Method    string
	Samples   int
	// RandomData says the calibration used random inputs.
	RandomData bool
}

// Prepare returns an int8 version of m for Simulate: a quantized model is returned as
// it is; a float model is optimized, calibrated (on opts.Data, or on random data) and
// quantized to QDQ by package quantizer, so any ONNX model can be simulated.
func Prepare(m *graph.Model, opts PrepareOptions) (*Prepared, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("prepare: nil model")
	}
	if m.Graph.IsQuantized() {
		return &Prepared{Model: m}, nil
	}
	bs := opts.BatchSize
	if bs <= 0 {
		bs = 8
	}
	res := &Prepared{Quantized: true, Method: opts.Method.String()}
	var data quantizer.Batches
	if opts.Data != nil {
		n := opts.Data.Len()
		if opts.Samples > 0 && opts.Samples < n {
			n = opts.Samples
		}
		if n == 0 {
			return nil, errors.New("prepare: the calibration data is empty")
		}
		data = limitedBatches{opts.Data, n}
		res.Samples = n
	} else {
		n := opts.Samples
		if n <= 0 {
			n = 4
		}
		res.RandomData = true
		data = &randomBatches{model: m, n: n, seed: opts.Seed}
		res.Samples = n
	}
	// The toolchain's one calibration loop (the same as `warboy quantize`).
	cal, err := quantizer.Calibrate(m, opts.Method, data, quantizer.CalibOptions{Warn: opts.Warn, Progress: opts.Progress, BatchSize: bs})
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	ranges, err := cal.ComputeRanges()
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	q, err := quantizer.Quantize(m, ranges, quantizer.QuantOptions{Format: opts.Format, CalibMethod: res.Method,
		CalibSamples: res.Samples, Notes: opts.Warn, RowSpread: cal.RowSpread()})
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	res.Model = q
	return res, nil
}

// PrepareAndSimulate quantizes a float model with Prepare when needed (unless
// cfg.AssumeInt8 asks for a timing-only estimate of the float graph) and simulates it.
func PrepareAndSimulate(m *graph.Model, cfg npu.Config, opts PrepareOptions) (*npu.Report, *Prepared, error) {
	prep := &Prepared{Model: m}
	if !cfg.AssumeInt8 {
		var err error
		if prep, err = Prepare(m, opts); err != nil {
			return nil, nil, err
		}
	}
	rep, err := npu.Simulate(prep.Model, cfg)
	if err != nil {
		return nil, prep, err
	}
	if rep.Model == "" {
		rep.Model = m.Graph.Name
	}
	return rep, prep, nil
}

// limitedBatches exposes the first n samples of a data source.
type limitedBatches struct {
	quantizer.Batches
	n int
}

func (l limitedBatches) Len() int { return l.n }

// GroupEnd keeps the source's shape groups (whole-input and sequence samples are
// groups of one): calibration never batches across them.
func (l limitedBatches) GroupEnd(start int) int {
	if g, ok := l.Batches.(interface{ GroupEnd(int) int }); ok {
		return min(g.GroupEnd(start), l.n)
	}
	return l.n
}

// randomBatches feeds random inputs (uniform in [0, 1) for float inputs), seeded by
// the sample offset so that results do not depend on the batch size.
type randomBatches struct {
	model *graph.Model
	n     int
	seed  int64
}

func (r *randomBatches) Len() int { return r.n }

func (r *randomBatches) Batch(start, n int) (map[string]*graph.Tensor, error) {
	return npu.RandomInputs(r.model, n, r.seed+int64(start))
}
