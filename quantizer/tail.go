package quantizer

import "math"

// longTailFrac is the share of a tensor's values (split between its two sides) that
// longTail leaves out to find where the bulk of the distribution ends.
const longTailFrac = 0.001

// longTail reports whether a tensor's observed range is set by a few outliers: on
// one side, all but 0.05% of the values fit in less than half of the observed extent,
// so the MIN_MAX range spends more than one bit of resolution on them. A histogram
// method that still picked the MIN_MAX range for such a tensor did not clip what it
// was chosen to clip (usually: too few calibration values for its percentile); for a
// tensor without a long tail (input pixels, logits) the MIN_MAX range is simply right.
func longTail(h *histogram) bool {
	if h.count == 0 || h.width == 0 {
		return false
	}
	tail := longTailFrac / 2 * float64(h.count)
	if hi := math.Max(h.max, 0); hi > 0 && tailCut(h.side(false), tail, h.width) < hi/2 {
		return true
	}
	if lo := math.Min(h.min, 0); lo < 0 && tailCut(h.side(true), tail, h.width) < -lo/2 {
		return true
	}
	return false
}
