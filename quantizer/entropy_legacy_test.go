package quantizer

import "math"

// The ENTROPY search as it was before point masses were carried exactly (TensorRT's
// loop on our grid histogram, 256 levels for non-negative tensors), kept only as a
// fixture: it reproduces the reported failure (the ResNet's stem ReLU [0, 7.82] cut
// to [0, 0.72], 82 % instead of 91.8 %), which the accuracy-budget tests recover from.

// legacyEntropyRanges computes the old ENTROPY ranges from a calibrator's statistics;
// tensors that take another tensor's parameters follow their source as in
// ComputeRangesFor.
func legacyEntropyRanges(c *Calibrator, sym bool) Ranges {
	m := EntropyAsym
	if sym {
		m = EntropySym
	}
	r, _, err := c.ComputeRangesFor(m)
	if err != nil {
		panic(err)
	}
	for i, name := range c.names {
		if c.src[name].kind != srcRange {
			continue
		}
		h := c.hists[i]
		if h.count == 0 || h.width == 0 {
			continue
		}
		omin, omax := math.Min(h.min, 0), math.Max(h.max, 0)
		amax := math.Max(-omin, omax)
		w := h.width
		var lo, hi float64
		if sym {
			levels := 128
			nonneg := omin >= 0
			if nonneg {
				levels = 256
			}
			lo, hi = symRange(math.Min(float64(legacyKLThreshold(h.abs(), levels))*w, amax), nonneg)
		} else {
			pos, neg := h.side(false), h.side(true)
			levels := 128
			if len(pos) == 0 || len(neg) == 0 {
				levels = 256
			}
			hi = math.Min(float64(legacyKLThreshold(pos, levels))*w, omax)
			lo = math.Max(-float64(legacyKLThreshold(neg, levels))*w, omin)
		}
		r[name] = [2]float32{float32(math.Min(lo, 0)), float32(math.Max(hi, 0))}
	}
	// Shared parameters follow their (possibly changed) source.
	for k := 0; k < len(c.names); k++ {
		for _, name := range c.names {
			if s := c.src[name]; s.kind == srcInput {
				if v, ok := r[s.other]; ok {
					r[name] = v
				}
			}
		}
	}
	return r
}

// legacyKLThreshold is TensorRT's entropy calibration on a one-sided histogram: for every
// candidate threshold of i bins (i from levels up to all bins, stride 1), the
// reference distribution is the first i bins with the clipped tail added to the last
// one; the candidate is those i bins merged into `levels` quantization levels and
// expanded back evenly over the non-empty bins. It returns the number of bins of the
// last candidate with the smallest KL divergence. Exact zeros are not in c (TensorRT
// replaces bin 0 with bin 1 for the same reason: the ReLU spike at zero would dominate).
//
// Prefix sums make each candidate O(levels) instead of O(i), so the search is
// O(bins x levels) per tensor.
func legacyKLThreshold(c []float64, levels int) int {
	n := len(c)
	if n <= levels {
		return n
	}
	// prefix sums: C = counts, CL = c*log(c), NZ = non-empty bins.
	C := make([]float64, n+1)
	CL := make([]float64, n+1)
	NZ := make([]int, n+1)
	for j, v := range c {
		C[j+1] = C[j] + v
		CL[j+1] = CL[j]
		NZ[j+1] = NZ[j]
		if v > 0 {
			CL[j+1] += v * math.Log(v)
			NZ[j+1]++
		}
	}
	total := C[n]
	if total == 0 {
		return 0
	}
	logT := math.Log(total)
	best, bestKL := n, math.Inf(1)
	for i := levels; i <= n; i++ {
		P := C[i]
		tail := total - P
		last := c[i-1]
		if last == 0 && tail > 0 {
			continue // the candidate has no mass where the reference has some: KL = +Inf
		}
		if P == 0 {
			continue
		}
		logP := math.Log(P)
		kl := 0.0
		for m := 0; m < levels; m++ {
			b0 := (m*i + levels - 1) / levels
			b1 := ((m+1)*i + levels - 1) / levels
			sum := C[b1] - C[b0]
			nz := NZ[b1] - NZ[b0]
			if nz == 0 {
				continue
			}
			logMean := math.Log(sum / float64(nz))
			cl := CL[b1] - CL[b0]
			psum := sum
			if m == levels-1 && last > 0 {
				// The last bin carries the clipped tail in the reference: handled below.
				cl -= last * math.Log(last)
				psum -= last
			}
			kl += cl - psum*(logT+logMean-logP)
			if m == levels-1 && last > 0 {
				p := last + tail
				kl += p * (math.Log(p) - logT - logMean + logP)
			}
		}
		kl /= total
		if kl <= bestKL {
			best, bestKL = i, kl
		}
	}
	return best
}
