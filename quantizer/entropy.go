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
// Prefix sums make each candidate O(levels + point-mass bins) instead of O(i). The
// logarithms are what is left, and most are the same from one candidate to the
// next: a level's mean depends only on its first bin and width, not on the
// candidate, and a point-mass bin's terms only on its own counts and the level
// holding it. So they are memoized (klMemo), computed with the expressions of
// the per-candidate loop, and the KL sums are those of that loop bit for bit
// (TestKLSearchMatchesReference): ~2000 candidates of 128 or 256 levels and
// hundreds of point-mass bins (a detector's letterbox borders give one per
// channel) asked for ~10^6 logarithms per tensor, now ~10^4.
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
	memo := newKLMemo(C, NZ, c, s, spikeBins, (n+levels-1)/levels+1)
	pow2, sh := levels&(levels-1) == 0, bits.TrailingZeros(uint(levels))
	mean := make([]float64, levels)
	bound := make([]int, levels+1) // the first bin of each level
	best, bestKL := n, math.Inf(1)
	for i := start; i <= n; i++ {
		S := C[i] + Sp[i] // Q's mass: everything below the threshold
		if S <= 0 {
			continue
		}
		tail := total - S
		logS := math.Log(S)
		kl := 0.0
		// the two level widths of this candidate, each in its slot
		wlo := i / levels
		memo.use(wlo)
		memo.use(wlo + 1)
		b1 := 0
		for m := 0; m < levels; m++ {
			b0 := b1
			if pow2 {
				b1 = ((m+1)*i + levels - 1) >> sh
			} else {
				b1 = ((m+1)*i + levels - 1) / levels
			}
			bound[m] = b0
			mean[m] = 0
			if b1 == b0 {
				continue
			}
			x := (b1-b0)&1*memo.nl + b0
			st := memo.state[x]
			if st == 0 {
				st = memo.level(x, b0, b1)
			}
			if st == 1 {
				continue
			}
			mean[m] = memo.mean[x]
			e := min(b1, i-1) // the last bin carries the outliers: summed below
			if e <= b0 {
				continue
			}
			kl += (CLns[e] - CLns[b0]) - (Cns[e]-Cns[b0])*(logT+memo.logMu[x]-logS)
		}
		bound[levels] = b1
		// The point masses below the last bin: p = c[j]+s[j] > 0 and q = s[j]
		// (plus the level's mean where c[j] > 0) > 0, so each term is
		// p * (log(p) - logT - log(q) + logS).
		m := 0
		for t, j := range spikeBins {
			if j >= i-1 {
				break
			}
			logQ := memo.logS[t]
			if c[j] > 0 {
				for bound[m+1] <= j { // the level holding j: j*levels/i
					m++
				}
				b0 := bound[m]
				x := (bound[m+1]-b0)&1*memo.ns + t*memo.stride + j - b0
				if logQ = memo.logQ[x]; logQ != logQ {
					logQ = math.Log(s[j] + mean[m])
					memo.logQ[x] = logQ
				}
			}
			kl += memo.p[t] * (memo.logP[t] - logT - logQ + logS)
		}
		// The last bin, with the outliers.
		if p := c[i-1] + s[i-1] + tail; p > 0 {
			q := s[i-1]
			if c[i-1] > 0 {
				q += mean[(i-1)*levels/i]
			}
			if q <= 0 {
				kl += math.Inf(1)
			} else {
				kl += p * (math.Log(p) - logT - math.Log(q) + logS)
			}
		}
		kl /= total
		if kl <= bestKL {
			best, bestKL = i, kl
		}
	}
	return best
}

// klMemo holds the logarithms of klSearch that do not depend on the candidate.
// A candidate of i bins has levels of floor(i/levels) and ceil(i/levels) bins,
// and candidates come in increasing order, so the levels of one width are asked
// for by consecutive candidates only: two slots (width&1) hold the entries of
// the two widths in use, and a slot is cleared when a new width takes it
// (use). klSearch reads and fills the entries inline.
type klMemo struct {
	C      []float64
	NZ     []int
	nl     int // entries per slot of the level memo (first bins)
	ns     int // entries per slot of the point-mass memo (spikes x offsets)
	stride int // offsets per spike: the largest width + 1
	slotW  [2]int
	// the level memo, by slot and first bin: mean, log(mean), state (0 not
	// computed, 1 no non-empty bin, 2 computed)
	mean, logMu []float64
	state       []uint8
	// per point-mass bin: p = c+s, log(p), log(s) (q where c is 0), and
	// log(s+mean) by slot, spike and offset in its level (NaN: not computed)
	p, logP, logS []float64
	logQ          []float64
}

func newKLMemo(C []float64, NZ []int, c, s []float64, spikes []int, wmax int) *klMemo {
	k := &klMemo{C: C, NZ: NZ, nl: len(C), ns: len(spikes) * (wmax + 1), stride: wmax + 1, slotW: [2]int{-1, -1}}
	k.mean, k.logMu, k.state = make([]float64, 2*k.nl), make([]float64, 2*k.nl), make([]uint8, 2*k.nl)
	k.p, k.logP, k.logS = make([]float64, len(spikes)), make([]float64, len(spikes)), make([]float64, len(spikes))
	for t, j := range spikes {
		k.p[t] = c[j] + s[j]
		k.logP[t], k.logS[t] = math.Log(k.p[t]), math.Log(s[j])
	}
	k.logQ = make([]float64, 2*k.ns)
	return k
}

// use makes slot w&1 hold width w, cleared if it held another.
func (k *klMemo) use(w int) {
	sl := w & 1
	if k.slotW[sl] == w {
		return
	}
	k.slotW[sl] = w
	clear(k.state[sl*k.nl : (sl+1)*k.nl])
	q := k.logQ[sl*k.ns : (sl+1)*k.ns]
	for x := range q {
		q[x] = math.NaN()
	}
}

// level computes entry x of the level memo, the level [b0, b1): the mean count
// of its non-empty bins and its logarithm; it returns the entry's state.
func (k *klMemo) level(x, b0, b1 int) uint8 {
	k.state[x] = 1
	if nz := k.NZ[b1] - k.NZ[b0]; nz > 0 {
		k.mean[x] = (k.C[b1] - k.C[b0]) / float64(nz)
		k.logMu[x] = math.Log(k.mean[x])
		k.state[x] = 2
	}
	return k.state[x]
}
