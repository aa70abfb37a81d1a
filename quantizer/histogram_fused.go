package quantizer

import (
	"math"
	"sync"

	"github.com/warboy-sim/warboy/kernels"
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
	return h.addScanned(int64(len(data)), nch, func(c int, g *kernels.BinGrid) (valueScan, bool) {
		return scanBin(data, c*len(data)/nch, (c+1)*len(data)/nch, g)
	})
}

// binTables is the number of counter tables a chunk of n values is binned into
// on a grid of nb bins: four (kernels.BinGrid: a run of values in one bin
// spreads over four counters) when summing them costs little next to the
// binning, else one.
func binTables(n int64, nb int) int {
	if n >= 8*int64(nb) {
		return 4
	}
	return 1
}

// addScanned runs scan on chunks 0..nch-1 of n values in parallel, each binning
// on the current grid into its own integer counters (kernels.BinGrid), and adds
// the counts to h when every value fitted and h's range stays within the grid;
// otherwise it reports false having changed nothing.
func (h *histogram) addScanned(n int64, nch int, scan func(c int, g *kernels.BinGrid) (valueScan, bool)) bool {
	nb := len(h.bins)
	tables := binTables(n/int64(nch), nb)
	scans := make([]valueScan, nch)
	cnts := make([][]uint32, nch)
	oob := make([]bool, nch)
	_ = parallelFor(nch, nch, func(c int) error {
		cnts[c] = getFusedCounts((tables + 1) * nb)
		g := &kernels.BinGrid{Inv: 1 / h.width, Lo: h.lo, NB: nb, Reps: cnts[c][tables*nb:]}
		for t := range g.Tables {
			g.Tables[t] = cnts[c][t%tables*nb : (t%tables+1)*nb]
		}
		scans[c], oob[c] = scan(c, g)
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
		for t := 0; t < tables; t++ {
			for k, m := range cnt[t*nb : (t+1)*nb] {
				if m != 0 {
					h.bins[k] += float64(m)
					cnt[t*nb+k] = 0
				}
			}
		}
		for k, m := range cnt[tables*nb:] {
			if m != 0 {
				h.reps[k] += float64(m)
				cnt[tables*nb+k] = 0
			}
		}
	}
	// The zeros were counted in the bin of 0 (which the grid always has).
	h.bins[-h.lo] -= float64(zeros)
	return true
}

// fusedMaxLen keeps the uint32 counters from overflowing.
const fusedMaxLen = math.MaxUint32

// noValue is a float32 NaN pattern: as a neighbour it equals no value (the
// run test compares bits, and a binned value is finite).
const noValue = 0x7fc00001

// scanBin is scanValues and bin over data[s:e] in one pass (kernels.BinF32),
// binning on the current grid g. outOfGrid reports a value outside the grid or
// not finite; the counts are then meaningless.
func scanBin(data []float32, s, e int, g *kernels.BinGrid) (out valueScan, outOfGrid bool) {
	none := math.Float32frombits(noValue)
	before, after := []float32{none}, []float32{none}
	if s > 0 {
		before[0] = data[s-1]
	}
	if e < len(data) {
		after[0] = data[e]
	}
	d := data[s:e]
	var acc kernels.BinAcc
	acc.Reset()
	ok := true
	if len(d) == 1 {
		ok = kernels.BinF32(d, before, after, g, &acc)
	} else {
		// The ends, whose neighbours lie outside d; then the inside, whose
		// neighbours are d shifted by one.
		n := len(d)
		ok = kernels.BinF32(d[:1], before, d[1:2], g, &acc) &&
			kernels.BinF32(d[n-1:], d[n-2:n-1], after, g, &acc) &&
			kernels.BinF32(d[1:n-1], d[:n-2], d[2:], g, &acc)
	}
	if !ok {
		return out, true
	}
	return scanOf(&acc, len(d)), false
}

// scanOf is the valueScan of n values binned into acc: min and max (±Inf when
// every value is zero, a -0 extreme read as 0) and zeros.
func scanOf(acc *kernels.BinAcc, n int) (out valueScan) {
	mn, mx, zeros := acc.Result()
	out.zeros = zeros
	out.min, out.max = float64(mn), float64(mx)
	if out.zeros == int64(n) {
		out.min, out.max = math.Inf(1), math.Inf(-1)
	}
	if out.min == 0 {
		out.min = 0
	}
	if out.max == 0 {
		out.max = 0
	}
	return out
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
