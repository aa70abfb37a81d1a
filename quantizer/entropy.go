package quantizer

import (
	"math"
	"math/bits"
)

// ENTROPY calibration: TensorRT's KL-divergence threshold search (GTC 2017, "8-bit
// inference with TensorRT"; NVIDIA pytorch-quantization calib/histogram.py
// _compute_amax_entropy; ONNX Runtime's get_entropy_threshold is the two-sided port
// of MXNet's), with one correction for point masses.
//
// The search, on a histogram of |x| with entropyBins bins over [0, max|x|]: for every
// candidate threshold of i bins (i = entropyStart ... entropyBins), the reference P is
// the first i bins with every value beyond them (the outliers) folded into the last
// one; the candidate Q is the same i bins (unclipped) merged into `levels`
// quantization levels and spread evenly back over the non-empty bins of each level.
// The threshold is the last i with the smallest KL(P || Q).
//
// Point masses. Spreading a level's mass evenly is a model of values that fill their
// level; a point mass (one exact value repeated many times) does not fill anything:
// quantization maps it to one level with the same error bound as any other value, yet
// the uniform expansion charges it spike*log(bins per level). Exact zeros are the
// classic case (TensorRT sets bins[0] = bins[1], we keep zeros out of the histogram);
// constant regions of an image produce the same thing away from zero (on
// Fashion-MNIST's black background every channel of the first ReLU takes one value:
// 11 spikes of ~4 % each below 0.73 on the bundled ResNet's stem), and ReLU6
// saturates at 6. Charged as spread, these spikes outweigh clipping 12 % of the
// values, and the plain algorithm cut the stem's [0, 7.82] to [0, 0.73] (the numpy
// port of TensorRT's loop in scripts/entropy_reference.py gives the same 0.7255 on
// the same tensor: it is the algorithm, not a slip in our loop). So the histogram
// counts, per bin, the values that belong to runs of equal adjacent values (how
// constant regions and saturation appear in a tensor), and the search carries that
// mass exactly in Q: a point mass costs nothing while it is inside the threshold and
// is an outlier, folded into P's last bin, once it is clipped. Everything else is
// the published algorithm.
const (
	// entropyBins is the histogram size of TensorRT's, PyTorch's and ONNX Runtime's
	// (num_bins=2048 in ORT's HistogramCalibrater when it is given; its default of 128
	// leaves a single candidate, the full range).
	entropyBins = 2048
	// entropyStart is the smallest candidate, in bins (TensorRT's start_bin=128; ORT
	// starts at num_quantized_bins/2 bins per side).
	entropyStart = 128
)

// entropyLevels is the number of quantization levels a one-sided search maps the
// candidate range onto: 128 for a signed tensor (int8's levels on one side, TensorRT's
// num_quantized_bins for signed 8-bit), 256 for a tensor that is never negative (all of
// int8's levels cover [0, a]: TensorRT's unsigned setting).
func entropyLevels(oneSided bool) int {
	if oneSided {
		return 256
	}
	return 128
}

// entropyThreshold returns the ENTROPY threshold of a one-sided |x| histogram on our
// grid (counts c of bins of width w, of which reps are point masses) whose largest
// value is amax.
func entropyThreshold(c, reps []float64, w, amax float64, levels int) float64 {
	if len(c) == 0 || amax <= 0 {
		return 0
	}
	cont, spikes := rebinEntropy(c, reps, w, amax, entropyBins)
	i := klSearch(cont, spikes, levels, entropyStart)
	return math.Min(float64(i)*amax/entropyBins, amax)
}

// rebinEntropy spreads a histogram of bins of width w (values in [0, amax]) onto n
// bins over [0, amax], assuming a uniform density inside each source bin (clipped to
// amax), and splits it into the continuous part and the point masses.
func rebinEntropy(c, reps []float64, w, amax float64, n int) (cont, spikes []float64) {
	cont, spikes = make([]float64, n), make([]float64, n)
	W := amax / float64(n)
	for k, cnt := range c {
		if cnt == 0 {
			continue
		}
		a := float64(k) * w
		b := math.Min(float64(k+1)*w, amax)
		var rep float64
		if k < len(reps) {
			rep = math.Min(reps[k], cnt)
		}
		if b <= a { // a bin starting at amax: its values are amax
			cont[n-1] += cnt - rep
			spikes[n-1] += rep
			continue
		}
		j0 := min(int(a/W), n-1)
		for j := j0; j < n; j++ {
			lo, hi := math.Max(a, float64(j)*W), math.Min(b, float64(j+1)*W)
			if j == n-1 {
				hi = b
			}
			if hi <= lo {
				if float64(j)*W >= b {
					break
				}
				continue
			}
			f := (hi - lo) / (b - a)
			cont[j] += (cnt - rep) * f
			spikes[j] += rep * f
		}
	}
	return cont, spikes
}

// klSearch is the threshold search on a one-sided histogram split into its
// continuous part c and point masses s (same length n). It returns the number of bins
// of the last candidate with the smallest KL divergence (n if no candidate is finite
// or n <= start).
//
// Prefix sums make each candidate O(levels + point-mass bins) instead of O(i). A
// level's mean and its logarithm depend only on the level's first bin and its
// width (at most ceil(n/levels) bins), not on the candidate: the ~2000 candidates
// of levels levels each ask for the same few tens of thousands of (first bin,
// width) pairs, so each is computed once (levelMeans), with the expressions of the
// per-candidate loop, and the KL sums are those of that loop bit for bit
// (TestKLSearchMatchesReference). The level bounds are shifts when levels is a
// power of two (128 and 256 always are).
func klSearch(c, s []float64, levels, start int) int {
	n := len(c)
	if n <= start {
		return n
	}
	// Prefix sums over the continuous part: C counts, NZ non-empty bins; Cns and CLns
	// count and c*log(c) over the bins without a point mass (those are summed one by
	// one); Sp the point masses.
	C := make([]float64, n+1)
	NZ := make([]int, n+1)
	Cns := make([]float64, n+1)
	CLns := make([]float64, n+1)
	Sp := make([]float64, n+1)
	var spikeBins []int
	for j := 0; j < n; j++ {
		C[j+1], NZ[j+1], Cns[j+1], CLns[j+1], Sp[j+1] = C[j]+c[j], NZ[j], Cns[j], CLns[j], Sp[j]+s[j]
		if c[j] > 0 {
			NZ[j+1]++
		}
		if s[j] > 0 {
			spikeBins = append(spikeBins, j)
		} else if c[j] > 0 {
			Cns[j+1] += c[j]
			CLns[j+1] += c[j] * math.Log(c[j])
		}
	}
	total := C[n] + Sp[n]
	if total <= 0 {
		return n
	}
	logT := math.Log(total)
	lm := newLevelMeans(C, NZ, (n+levels-1)/levels+1)
	pow2, sh := levels&(levels-1) == 0, bits.TrailingZeros(uint(levels))
	mean := make([]float64, levels)
	best, bestKL := n, math.Inf(1)
	for i := start; i <= n; i++ {
		S := C[i] + Sp[i] // Q's mass: everything below the threshold
		if S <= 0 {
			continue
		}
		tail := total - S
		logS := math.Log(S)
		kl := 0.0
		b1 := 0
		for m := 0; m < levels; m++ {
			b0 := b1
			if pow2 {
				b1 = ((m+1)*i + levels - 1) >> sh
			} else {
				b1 = ((m+1)*i + levels - 1) / levels
			}
			k := b0*lm.stride + b1 - b0
			if lm.state[k] == 0 {
				lm.compute(k, b0, b1)
			}
			mean[m] = lm.mean[k]
			if lm.state[k] == 1 {
				continue
			}
			e := min(b1, i-1) // the last bin carries the outliers: summed below
			if e <= b0 {
				continue
			}
			kl += (CLns[e] - CLns[b0]) - (Cns[e]-Cns[b0])*(logT+lm.logMu[k]-logS)
		}
		term := func(j int, p float64) float64 {
			q := s[j]
			if c[j] > 0 {
				q += mean[j*levels/i]
			}
			if p <= 0 {
				return 0
			}
			if q <= 0 {
				return math.Inf(1)
			}
			return p * (math.Log(p) - logT - math.Log(q) + logS)
		}
		for _, j := range spikeBins {
			if j >= i-1 {
				break
			}
			kl += term(j, c[j]+s[j])
		}
		kl += term(i-1, c[i-1]+s[i-1]+tail)
		kl /= total
		if kl <= bestKL {
			best, bestKL = i, kl
		}
	}
	return best
}

// levelMeans memoizes, per level [b0, b1) of a candidate (index b0*stride +
// b1-b0), the mean count of its non-empty bins and the logarithm of that mean.
type levelMeans struct {
	C           []float64
	NZ          []int
	stride      int
	mean, logMu []float64
	state       []uint8 // 0 not computed, 1 no non-empty bin (mean 0), 2 computed
}

// newLevelMeans is the memo for levels of up to wmax bins.
func newLevelMeans(C []float64, NZ []int, wmax int) *levelMeans {
	k := len(C) * (wmax + 1)
	return &levelMeans{C: C, NZ: NZ, stride: wmax + 1, mean: make([]float64, k), logMu: make([]float64, k), state: make([]uint8, k)}
}

func (l *levelMeans) compute(k, b0, b1 int) {
	nz := l.NZ[b1] - l.NZ[b0]
	if nz == 0 {
		l.state[k] = 1
		return
	}
	l.mean[k] = (l.C[b1] - l.C[b0]) / float64(nz)
	l.logMu[k] = math.Log(l.mean[k])
	l.state[k] = 2
}
