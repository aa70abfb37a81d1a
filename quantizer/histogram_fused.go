package quantizer

import (
	"math"
	"sync"
)

// One pass instead of two. addPar scans a batch for its min, max and zeros, grows
// the grid to cover them, then bins: two passes over tensors that do not fit in
// the cache at 640x640 (6.5 MB per 16-channel 320x320 activation of one image).
// Once the grid exists, most batches fall inside it (ranges stop growing after a
// few batches), so addFused bins on the current grid while it scans, into integer
// counters, and checks at the end that the batch fitted; if it did not, or a value
// is not finite, it reports false having changed nothing, and addPar runs the two
// passes. The counts are the same bit for bit (TestHistogramFusedMatchesTwoPass):
// the same grid indices, the same run test, and whole-number sums.

// addFused adds data in one pass when the current grid covers it; it reports
// whether it did.
func (h *histogram) addFused(data []float32, threads int) bool {
	if h.width == 0 || len(data) == 0 || len(data) > fusedMaxLen {
		return false
	}
	nch := max(1, min(threads, len(data)/histChunk))
	return h.addScanned(int64(len(data)), nch, func(c int, cnt []uint32) (valueScan, bool) {
		return h.scanBin(data, c*len(data)/nch, (c+1)*len(data)/nch, cnt)
	})
}

// addScanned runs scan on chunks 0..nch-1 of n values in parallel, each binning
// on the current grid into its own integer counters (the bins' counts, then the
// run counts), and adds the counts to h when every value fitted and h's range
// stays within the grid; otherwise it reports false having changed nothing.
func (h *histogram) addScanned(n int64, nch int, scan func(c int, cnt []uint32) (valueScan, bool)) bool {
	nb := len(h.bins)
	scans := make([]valueScan, nch)
	cnts := make([][]uint32, nch)
	oob := make([]bool, nch)
	_ = parallelFor(nch, nch, func(c int) error {
		cnts[c] = getFusedCounts(2 * nb)
		scans[c], oob[c] = scan(c, cnts[c])
		return nil
	})
	added := false
	defer func() {
		for _, c := range cnts {
			if !added {
				clear(c)
			}
			putFusedCounts(c)
		}
	}()
	bmin, bmax := math.Inf(1), math.Inf(-1)
	var zeros int64
	for c, sc := range scans {
		if oob[c] {
			return false
		}
		bmin, bmax = math.Min(bmin, sc.min), math.Max(bmax, sc.max)
		zeros += sc.zeros
	}
	// What addPar would do with these values, if it leaves the grid unchanged.
	hmin, hmax := h.min, h.max
	if zeros == n {
		hmin, hmax = math.Min(hmin, 0), math.Max(hmax, 0)
	} else {
		if zeros > 0 {
			bmin, bmax = math.Min(bmin, 0), math.Max(bmax, 0)
		}
		hmin, hmax = math.Min(hmin, bmin), math.Max(hmax, bmax)
		if !fits(h.width, bmin, bmax) || !fits(h.width, hmin, hmax) {
			return false // cover would coarsen the grid
		}
	}
	added = true
	h.count += n
	h.zeros += zeros
	h.min, h.max = hmin, hmax
	for _, cnt := range cnts {
		for k, m := range cnt[:nb] {
			if m != 0 {
				h.bins[k] += float64(m)
				cnt[k] = 0
			}
		}
		for k, m := range cnt[nb:] {
			if m != 0 {
				h.reps[k] += float64(m)
				cnt[nb+k] = 0
			}
		}
	}
	// The zeros were counted in the bin of 0 (which the grid always has).
	h.bins[-h.lo] -= float64(zeros)
	return true
}

// fusedMaxLen keeps the uint32 counters from overflowing.
const fusedMaxLen = math.MaxUint32

// scanBin is scanValues and bin over data[s:e] in one loop, binning on the
// current grid into cnt (the bins' counts, then the run counts). outOfGrid
// reports a value outside the grid or not finite (its grid index is then out of
// range too); the loop stops there and the counts are meaningless.
func (h *histogram) scanBin(data []float32, s, e int, cnt []uint32) (out valueScan, outOfGrid bool) {
	nb := len(cnt) / 2
	bins, reps := cnt[:nb], cnt[nb:2*nb]
	inv := 1 / h.width
	lo := h.lo
	const none = 0x7fc00001
	prev := uint32(none)
	if s > 0 {
		prev = math.Float32bits(data[s-1])
	}
	next := uint32(none)
	if e < len(data) {
		next = math.Float32bits(data[e])
	}
	d := data[s:e]
	inf := float32(math.Inf(1))
	mn, mx := inf, -inf
	var zeros uint64
	cur := math.Float32bits(d[0])
	for i := range d {
		nx := next
		if i+1 < len(d) {
			nx = math.Float32bits(d[i+1])
		}
		v := math.Float32frombits(cur)
		mn, mx = min32(mn, v), max32(mx, v)
		k := int(math.Floor(float64(v)*inv)) - lo
		if uint(k) >= uint(nb) { // outside the grid, or not finite: never, once the grid is set
			return out, true
		}
		bins[k]++
		zero := (uint64(cur<<1) - 1) >> 63
		inRun := ((uint64(cur^prev) - 1) >> 63) | ((uint64(cur^nx) - 1) >> 63)
		if inRun&^zero != 0 { // rare, so predicted: point masses are few values
			reps[k]++
		}
		zeros += zero
		prev, cur = cur, nx
	}
	out.zeros = int64(zeros)
	out.min, out.max = float64(mn), float64(mx)
	if out.zeros == int64(len(d)) {
		out.min, out.max = math.Inf(1), math.Inf(-1)
	}
	if out.min == 0 {
		out.min = 0
	}
	if out.max == 0 {
		out.max = 0
	}
	return out, false
}

var fusedCountPool sync.Pool

// getFusedCounts returns n zeroed counters; putFusedCounts takes them back zeroed.
func getFusedCounts(n int) []uint32 {
	if p, ok := fusedCountPool.Get().(*[]uint32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]uint32, n)
}

func putFusedCounts(c []uint32) {
	if c != nil {
		fusedCountPool.Put(&c)
	}
}
