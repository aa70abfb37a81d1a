package quantizer

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// DefaultCalibBatch is the number of samples per calibration run.
const DefaultCalibBatch = 100

// Calibrate builds a Calibrator for m and feeds it every sample of data in batches of
// opts.BatchSize (default DefaultCalibBatch). It is the one calibration loop of the toolchain: `warboy
// quantize`, the simulator's preparation of float models and `warboy bench` all use
// it, so a given model, data and method always give the same ranges. The returned
// calibrator can compute ranges for any method (ComputeRangesFor) from the same
// statistics. opts.ExpectedSamples defaults to data.Len() for progress reporting.
func Calibrate(m *graph.Model, method Method, data Batches, opts CalibOptions) (*Calibrator, error) {
	if data == nil || data.Len() == 0 {
		return nil, ErrNoData
	}
	if opts.ExpectedSamples == 0 {
		opts.ExpectedSamples = data.Len()
	}
	c, err := NewCalibrator(m, method, opts)
	if err != nil {
		return nil, err
	}
	n, bs := data.Len(), opts.BatchSize
	if bs <= 0 {
		bs = DefaultCalibBatch
	}
	for start, bn := 0, 0; start < n; start += bn {
		bn = batchLen(data, start, bs, n)
		b, err := data.Batch(start, bn)
		if err != nil {
			return nil, fmt.Errorf("calibration data, samples %d-%d: %w", start, start+bn-1, err)
		}
		if err := c.Collect(b); err != nil {
			return nil, fmt.Errorf("samples %d-%d: %w", start, start+bn-1, err)
		}
	}
	return c, nil
}
