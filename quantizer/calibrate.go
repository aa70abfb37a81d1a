package quantizer

import (
	"fmt"
	goruntime "runtime"

	"github.com/warboy-sim/warboy/graph"
)

// DefaultCalibBatch is the number of samples per calibration run.
const DefaultCalibBatch = 100

// Calibrate builds a Calibrator for m and feeds it every sample of data in batches of
// opts.BatchSize (default DefaultCalibBatch), or in batches of the model's own size when
// it fixes one (StaticBatch; samples beyond the last whole batch are left out with a
// warning). It is the one calibration loop of the toolchain: `warboy
// quantize`, the simulator's preparation of float models and `warboy bench` all use
// it, so a given model, data and method always give the same ranges. The returned
// calibrator can compute ranges for any method (ComputeRangesFor) from the same
// statistics. opts.ExpectedSamples defaults to data.Len() for progress reporting.
func Calibrate(m *graph.Model, method Method, data Batches, opts CalibOptions) (*Calibrator, error) {
	if data == nil || data.Len() == 0 {
		return nil, ErrNoData
	}
	bs, n, dropped, err := runBatches(m, data, opts.BatchSize, DefaultCalibBatch, data.Len())
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	if dropped > 0 && opts.Warn != nil {
		opts.Warn(fmt.Sprintf("the model has a static batch of %d: calibrating on %d of the %d samples", bs, n, data.Len()))
	}
	if opts.ExpectedSamples == 0 || opts.ExpectedSamples == data.Len() {
		opts.ExpectedSamples = n
	}
	c, err := NewCalibrator(m, method, opts)
	if err != nil {
		return nil, err
	}
	gc := startCalibGC()
	defer gc.stop()
	c.gc = gc
	defer func() { c.gc = nil }()
	for start, bn := 0, 0; start < n; start += bn {
		bn = batchLen(data, start, bs, n)
		b, err := data.Batch(start, bn)
		if err != nil {
			return nil, fmt.Errorf("calibration data, samples %d-%d: %w", start, start+bn-1, err)
		}
		// The batch is the executor's now: its input is dropped after the first
		// layers read it, not kept to the end of the batch.
		if err := c.collect(b, true); err != nil {
			return nil, fmt.Errorf("samples %d-%d: %w", start, start+bn-1, err)
		}
		// The batch's input and activations are garbage now: collecting them before
		// the next batch is read keeps the peak near one batch's working set instead
		// of the collector's default headroom of a second one.
		goruntime.GC()
		gc.afterBatch()
	}
	return c, nil
}
