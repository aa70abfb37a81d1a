package quantizer

import (
	"math"
)

// Range-search algorithms over a histogram. Every method returns a range [lo, hi] with
// lo <= 0 <= hi inside the observed [min, max] (symmetric methods shrink max|x| instead,
// so their range stays symmetric).

const (
	// actSteps is the number of quantization steps of an int8 activation (qmax - qmin).
	actSteps = 255
	// sqnrGamma weighs clipping noise against rounding noise in the SQNR search
	// (AIMET's tf_enhanced default).
	sqnrGamma = 3.0
)

// searchResult is what a method found for one tensor.
type searchResult struct {
	lo, hi float64
	// clipped is the fraction of values outside [lo, hi].
	clipped float64
	// collapsed is set when a histogram method picked the MIN_MAX range (within one bin).
	collapsed bool
}

// searchRange applies a method to a tensor's statistics.
func searchRange(h *histogram, m Method, percentile float64) searchResult {
	omin, omax := math.Min(h.min, 0), math.Max(h.max, 0)
	if h.count == 0 {
		return searchResult{}
	}
	amax := math.Max(-omin, omax)
	nonneg := omin >= 0
	w := h.width
	var lo, hi float64
	if h.width == 0 || m.Kind() == KindMinMax {
		lo, hi = omin, omax
		if m.Symmetric() {
			lo, hi = symRange(amax, nonneg)
		}
		return searchResult{lo: lo, hi: hi}
	}
	sym := m.Symmetric()
	switch m.Kind() {
	case KindPercentile:
		if sym {
			a := percentileAbs(h.abs(), h.zeros, h.count, percentile/100, w)
			lo, hi = symRange(math.Min(a, amax), nonneg)
		} else {
			tail := (100 - percentile) / 200 * float64(h.count)
			hi = tailCut(h.side(false), tail, w)
			lo = -tailCut(h.side(true), tail, w)
		}
	case KindEntropy:
		if sym {
			a := entropyThreshold(h.abs(), h.absReps(), w, amax, entropyLevels(nonneg))
			lo, hi = symRange(math.Min(a, amax), nonneg)
		} else {
			// Each side on its own (TensorRT's search is one-sided): a signed tensor
			// spends about half of the levels on each side, a one-signed tensor all.
			oneSided := omin >= 0 || omax <= 0
			hi = entropyThreshold(h.side(false), h.sideReps(false), w, omax, entropyLevels(oneSided))
			lo = -entropyThreshold(h.side(true), h.sideReps(true), w, -omin, entropyLevels(oneSided))
		}
	case KindMSE:
		if sym {
			span := 2.0
			if nonneg {
				span = 1
			}
			a := float64(mseSym(newSide(h.abs(), w), span)) * w
			lo, hi = symRange(math.Min(a, amax), nonneg)
		} else {
			kn, kp := mseAsym(newSide(h.side(true), w), newSide(h.side(false), w))
			lo, hi = -float64(kn)*w, float64(kp)*w
		}
	case KindSQNR:
		lo, hi = sqnrSearch(h, sym, sqnrGamma)
		if sym {
			lo, hi = symRange(math.Min(math.Max(-lo, hi), amax), nonneg)
		}
	}
	if !sym {
		lo, hi = math.Max(lo, omin), math.Min(hi, omax)
	}
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	r := searchResult{lo: lo, hi: hi, clipped: h.clippedFraction(lo, hi)}
	if sym {
		r.collapsed = math.Max(-lo, hi) >= amax-w
	} else {
		r.collapsed = lo <= omin+w && hi >= omax-w
	}
	return r
}

func symRange(a float64, nonneg bool) (float64, float64) {
	if nonneg {
		return 0, a
	}
	return -a, a
}

// clippedFraction is the fraction of the values outside [lo, hi], assuming a uniform
// density inside each bin.
func (h *histogram) clippedFraction(lo, hi float64) float64 {
	if h.count == 0 || h.width == 0 {
		return 0
	}
	var out float64
	for i, c := range h.bins {
		if c == 0 {
			continue
		}
		// The values of a bin lie inside both the bin and the observed [min, max].
		a := math.Max(float64(h.lo+i)*h.width, h.min)
		b := math.Min(float64(h.lo+i+1)*h.width, h.max)
		if b <= a {
			if a < lo || a > hi {
				out += c
			}
			continue
		}
		inside := math.Min(b, hi) - math.Max(a, lo)
		if inside <= 0 {
			out += c
		} else if inside < b-a {
			out += c * (1 - inside/(b-a))
		}
	}
	return out / float64(h.count)
}

// percentileAbs returns the smallest bin edge below which frac of all values
// (including exact zeros) lie in the |x| histogram.
func percentileAbs(c []float64, zeros, count int64, frac, w float64) float64 {
	target := frac * float64(count)
	cum := float64(zeros)
	if cum >= target {
		return 0
	}
	for i, v := range c {
		cum += v
		if cum >= target {
			return float64(i+1) * w
		}
	}
	return float64(len(c)) * w
}

// tailCut returns the edge of a one-sided |x| histogram beyond which at most tail
// values lie (the upper edge of the bin where the mass counted from the outside first
// exceeds tail).
func tailCut(c []float64, tail, w float64) float64 {
	var acc float64
	for i := len(c) - 1; i >= 0; i-- {
		acc += c[i]
		if acc > tail {
			return float64(i+1) * w
		}
	}
	return 0
}

// side is a one-sided |x| histogram with prefix sums for the MSE search.
type side struct {
	w float64
	// N, M1, M2 are prefix sums of count, count*center and count*E[x^2] (center^2 +
	// w^2/12, a uniform density inside each bin).
	N, M1, M2 []float64
}

func newSide(c []float64, w float64) side {
	s := side{w: w, N: make([]float64, len(c)+1), M1: make([]float64, len(c)+1), M2: make([]float64, len(c)+1)}
	for j, v := range c {
		m := (float64(j) + 0.5) * w
		s.N[j+1] = s.N[j] + v
		s.M1[j+1] = s.M1[j] + v*m
		s.M2[j+1] = s.M2[j] + v*(m*m+w*w/12)
	}
	return s
}

func (s side) bins() int { return len(s.N) - 1 }

// clipCost is the squared error of clipping every value beyond k bins to k*w.
func (s side) clipCost(k int) float64 {
	n := s.bins()
	a := float64(k) * s.w
	cnt := s.N[n] - s.N[k]
	if cnt == 0 {
		return 0
	}
	return (s.M2[n] - s.M2[k]) - 2*a*(s.M1[n]-s.M1[k]) + a*a*cnt
}

// mseSym sweeps every bin edge of a one-sided histogram as the clipping threshold a and
// returns the number of bins minimizing clipping error plus rounding noise: values
// inside are rounded to a grid of step span*a/255 (span 2 for [-a, a], 1 for [0, a]),
// whose noise is step^2/12 per value; exact zeros are exact and not counted.
func mseSym(s side, span float64) int {
	n := s.bins()
	if n == 0 {
		return 0
	}
	best, bestCost := n, math.Inf(1)
	for k := 1; k <= n; k++ {
		d := span * float64(k) * s.w / actSteps
		cost := s.N[k]*d*d/12 + s.clipCost(k)
		if cost < bestCost {
			best, bestCost = k, cost
		}
	}
	return best
}

// mseAsym searches (negative threshold, positive threshold) pairs, in bins, for the
// smallest clipping + rounding error with 255 steps over [lo, hi]. A coarse grid
// (at most 256 candidates per side) is refined around its best pair at full resolution.
func mseAsym(neg, pos side) (int, int) {
	nn, np := neg.bins(), pos.bins()
	if nn == 0 && np == 0 {
		return 0, 0
	}
	cost := func(kn, kp int) float64 {
		d := float64(kn+kp) * pos.w / actSteps
		return (neg.N[kn]+pos.N[kp])*d*d/12 + neg.clipCost(kn) + pos.clipCost(kp)
	}
	cands := func(n, stride int) []int {
		if n == 0 {
			return []int{0}
		}
		var out []int
		for k := 1; k < n; k += stride {
			out = append(out, k)
		}
		return append(out, n)
	}
	sn, sp := max(1, nn/256), max(1, np/256)
	bn, bp, bc := nn, np, math.Inf(1)
	for _, kn := range cands(nn, sn) {
		for _, kp := range cands(np, sp) {
			if c := cost(kn, kp); c < bc {
				bn, bp, bc = kn, kp, c
			}
		}
	}
	if sn == 1 && sp == 1 {
		return bn, bp
	}
	cn, cp := bn, bp
	for kn := max(min(1, nn), cn-sn); kn <= min(nn, cn+sn); kn++ {
		for kp := max(min(1, np), cp-sp); kp <= min(np, cp+sp); kp++ {
			if c := cost(kn, kp); c < bc {
				bn, bp, bc = kn, kp, c
			}
		}
	}
	return bn, bp
}

// sqnrSearch is AIMET's tf_enhanced (SqnrEncodingAnalyzer) search over the real-valued
// histogram: candidate (delta, offset) encodings, the cost of each being the squared
// error of fake-quantizing every bin center, with errors of clipped values weighted by
// gamma. It returns [offset*delta, (offset+255)*delta] of the best candidate.
func sqnrSearch(h *histogram, sym bool, gamma float64) (float64, float64) {
	omin, omax := math.Min(h.min, 0), math.Max(h.max, 0)
	// Bin centers and counts, plus exact zeros as a point at 0.
	centers := make([]float64, 0, len(h.bins)+1)
	counts := make([]float64, 0, len(h.bins)+1)
	for i, c := range h.bins {
		if c > 0 {
			centers = append(centers, (float64(h.lo+i)+0.5)*h.width)
			counts = append(counts, c)
		}
	}
	if h.zeros > 0 {
		centers = append(centers, 0)
		counts = append(counts, float64(h.zeros))
	}
	cost := func(delta, offset float64) float64 {
		var total float64
		for i, m := range centers {
			q := math.RoundToEven(m/delta - offset)
			clipped := false
			if q < 0 {
				q, clipped = 0, true
			} else if q > actSteps {
				q, clipped = actSteps, true
			}
			e := (q+offset)*delta - m
			e = e * e * counts[i]
			if clipped {
				e *= gamma
			}
			total += e
		}
		return total
	}
	const steps = float64(actSteps)
	bestLo, bestHi, bestCost := omin, omax, math.Inf(1)
	try := func(delta, offset float64) {
		if delta <= 0 {
			return
		}
		if c := cost(delta, offset); c < bestCost {
			bestCost = c
			bestLo = offset * delta
			bestHi = bestLo + steps*delta
		}
	}
	if sym {
		if omin >= 0 {
			maxDelta := omax / steps
			for k := 1; k <= 101; k++ {
				try(maxDelta*float64(k)/100, 0)
			}
		} else {
			maxDelta := 2 * math.Max(-omin, omax) / steps
			offset := math.Floor(-steps / 2)
			for k := 1; k <= 101; k++ {
				try(maxDelta*float64(k)/100, offset)
			}
		}
		return bestLo, bestHi
	}
	maxDelta := (omax - omin) / steps
	if maxDelta == 0 {
		return 0, 0
	}
	offsets := make([]float64, 0, 22)
	for k := 0; k < 21; k++ {
		offsets = append(offsets, math.Round(-steps+steps*float64(k)/20))
	}
	offsets = append(offsets, math.Round(omin/maxDelta))
	for k := 1; k <= 17; k++ {
		delta := maxDelta * float64(k) / 16
		for _, o := range offsets {
			lo := math.Max(o*delta, omin)
			hi := math.Min(lo+steps*delta, omax)
			d := (hi - lo) / steps
			if d <= 0 {
				continue
			}
			try(d, math.Round(lo/d))
		}
	}
	return bestLo, bestHi
}
