package quantizer

import (
	"fmt"
	"math"

	"github.com/warboy-sim/warboy/kernels"
)

const (
	// histBins is the least number of bins over max|x| (TensorRT, PyTorch and AIMET
	// all use 2048).
	histBins = 2048
	// histMaxBins bounds the bins on either side of zero. The bin width is the smallest
	// power of two that fits max|x| into histMaxBins bins, so a histogram always has
	// between histBins and histMaxBins bins over max|x|, its memory stays bounded
	// however many samples are seen, and (because the grid only depends on the final
	// min and max) the counts do not depend on how the data was split into batches.
	histMaxBins = 2 * histBins
)

// histogram streams statistics of one float tensor: exact count, running min/max,
// the number of exact zeros (kept out of the bins: ReLU outputs are mostly zeros and
// zero is always exactly representable), and counts on a grid anchored at zero: bin k
// covers [k*width, (k+1)*width) with width a power of two. The grid only ever grows by
// whole bins or doubles its width, so merging a batch never smears counts across bins
// (unlike re-binning onto a new [min, max] as PyTorch's HistogramObserver does).
type histogram struct {
	count    int64
	zeros    int64
	min, max float64
	width    float64 // 0 until a non-zero value is seen
	lo       int     // grid index of bins[0]
	bins     []float64
	// reps counts, per bin, the values that belong to a run of equal adjacent values
	// (reps[k] <= bins[k]): point masses such as the constant value a channel takes
	// over a uniform background, or ReLU6's saturation at 6. ENTROPY treats them as
	// exactly representable (see entropy.go).
	reps []float64
	// tail is the last two values of the piece added last (addPiece), NaN where
	// there is none.
	tail [2]float32
	// rows is the run state of a channels-last tensor added by addRows
	// (histogram_rows.go).
	rows *rowRuns
}

func newHistogram() *histogram {
	return &histogram{min: math.Inf(1), max: math.Inf(-1)}
}

// errNonFinite is returned by add for NaN or infinite values.
type errNonFinite struct {
	value float32
	index int
}

func (e errNonFinite) Error() string {
	return fmt.Sprintf("non-finite value %v at element %d", e.value, e.index)
}

// add accumulates a batch of values.
func (h *histogram) add(data []float32) error { return h.addPar(data, 1) }

// histChunk is the least number of values per goroutine in addPar.
const histChunk = 1 << 16

// addPar is add on up to threads goroutines, with the same result bit for bit: the
// scan and the binning are split into contiguous chunks whose counts (whole numbers,
// exact in float64) are summed, and a chunk starts its run detection in the state
// the sequential loop would have there.
func (h *histogram) addPar(data []float32, threads int) error {
	if len(data) == 0 || h.addFused(data, threads) {
		return nil
	}
	if h.width == 0 && h.firstGrid(data, threads) {
		if h.addFused(data, threads) {
			return nil
		}
		h.width, h.lo, h.bins, h.reps = 0, 0, nil, nil // not reached: the grid covers the batch
	}
	return h.addTwoPass(data, threads)
}

// firstGrid sets up the grid of a histogram that has none from the batch's min
// and max (kernels.MinMaxF32, vectorized), so that the first batch is binned in
// one pass (addFused) like the others instead of scanned and then binned: it is
// the grid addTwoPass would set up. It reports false, changing nothing, for a
// batch with a non-finite value or only zeros (addTwoPass handles both).
func (h *histogram) firstGrid(data []float32, threads int) bool {
	nch := max(1, min(threads, len(data)/histChunk))
	los, his := make([]float32, nch), make([]float32, nch)
	_ = parallelFor(nch, nch, func(c int) error {
		los[c], his[c] = kernels.MinMaxF32(data[c*len(data)/nch : (c+1)*len(data)/nch])
		return nil
	})
	mn, mx := los[0], his[0]
	for c := 1; c < nch; c++ {
		mn, mx = min(mn, los[c]), max(mx, his[c])
	}
	bmin, bmax := float64(mn), float64(mx)
	if math.IsNaN(bmin) || math.IsInf(bmin, 0) || math.IsInf(bmax, 0) || bmin == 0 && bmax == 0 {
		return false
	}
	// A -0 extreme reads as 0 (scanValues).
	if bmin == 0 {
		bmin = 0
	}
	if bmax == 0 {
		bmax = 0
	}
	h.initGrid(bmin, bmax)
	return true
}

// initGrid sets up the grid of the first batch with a non-zero value, of range
// [bmin, bmax] (zeros included).
func (h *histogram) initGrid(bmin, bmax float64) {
	// The smallest power of two that fits the batch (float32 inputs keep it a
	// normal float64 with an exact inverse).
	amax := math.Max(math.Abs(bmin), math.Abs(bmax))
	h.width = math.Ldexp(1, int(math.Ceil(math.Log2(amax/histMaxBins))))
	for !fits(h.width, bmin, bmax) {
		h.width *= 2
	}
	for fits(h.width/2, bmin, bmax) {
		h.width /= 2
	}
	h.lo = h.index(math.Min(bmin, 0))
	h.bins = make([]float64, h.index(math.Max(bmax, 0))-h.lo+1)
	h.reps = make([]float64, len(h.bins))
}

// addTwoPass is addPar in two passes over data: scan, then bin (histogram_fused.go
// has the one-pass path).
func (h *histogram) addTwoPass(data []float32, threads int) error {
	nch := max(1, min(threads, len(data)/histChunk))
	bounds := func(c int) (int, int) { return c * len(data) / nch, (c + 1) * len(data) / nch }
	scans := make([]valueScan, nch)
	_ = parallelFor(nch, nch, func(c int) error {
		s, e := bounds(c)
		scans[c] = scanValues(data, s, e)
		return nil
	})
	bmin, bmax := math.Inf(1), math.Inf(-1)
	var zeros int64
	for _, sc := range scans {
		if sc.err != nil {
			return sc.err
		}
		bmin, bmax = math.Min(bmin, sc.min), math.Max(bmax, sc.max)
		zeros += sc.zeros
	}
	h.count += int64(len(data))
	h.zeros += zeros
	if zeros == int64(len(data)) {
		h.min = math.Min(h.min, 0)
		h.max = math.Max(h.max, 0)
		return nil
	}
	if zeros > 0 {
		bmin = math.Min(bmin, 0)
		bmax = math.Max(bmax, 0)
	}
	h.min = math.Min(h.min, bmin)
	h.max = math.Max(h.max, bmax)
	if h.width == 0 {
		h.initGrid(bmin, bmax)
	}
	h.cover(bmin, bmax)
	if nch == 1 {
		h.bin(data, 0, len(data), h.bins, h.reps)
		return nil
	}
	part := make([][2][]float64, nch)
	_ = parallelFor(nch, nch, func(c int) error {
		s, e := bounds(c)
		part[c] = [2][]float64{make([]float64, len(h.bins)), make([]float64, len(h.reps))}
		h.bin(data, s, e, part[c][0], part[c][1])
		return nil
	})
	for _, p := range part {
		for k := range p[0] {
			h.bins[k] += p[0][k]
			h.reps[k] += p[1][k]
		}
	}
	return nil
}

// addPiece adds elements [offset, offset+len(d)) of one tensor whose pieces come
// in order (offset 0 starts the tensor), with the counts one add of the whole tensor
// gives: the grid does not depend on how values are split, and a run of equal values
// that straddles two pieces is counted once in full.
func (h *histogram) addPiece(d []float32, offset, threads int) error {
	if err := h.addPar(d, threads); err != nil {
		if nf, ok := err.(errNonFinite); ok {
			nf.index += offset
			return nf
		}
		return err
	}
	if len(d) == 0 {
		return nil
	}
	nan := float32(math.NaN())
	if offset == 0 {
		h.tail = [2]float32{nan, nan}
	}
	// Each piece was binned as if its ends had no neighbour: the last value a of the
	// previous piece and the first value b of this one were not compared.
	if a, b := h.tail[1], d[0]; a == b && a != 0 {
		next := nan
		if len(d) > 1 {
			next = d[1]
		}
		add := 0.0
		if h.tail[0] != a {
			add++ // a only belongs to a run through b
		}
		if next != b {
			add++ // and b only through a
		}
		h.reps[h.index(float64(a))-h.lo] += add
	}
	if len(d) >= 2 {
		h.tail = [2]float32{d[len(d)-2], d[len(d)-1]}
	} else {
		h.tail = [2]float32{h.tail[1], d[0]}
	}
	return nil
}

type valueScan struct {
	min, max float64
	zeros    int64
	err      error
}

// scanValues returns the min and max of data[s:e] (0 when the zeros are the
// extremes: a -0 reads as 0), the number of zeros, and an error for the first
// non-finite value. The loop is branch-free but for the rare new extreme: a
// non-finite value turns the sum of v-v (0 for every finite v) into NaN, and only
// then is the slice searched for it; zeros are counted from the bits.
func scanValues(data []float32, s, e int) (out valueScan) {
	d := data[s:e]
	inf := float32(math.Inf(1))
	mn0, mn1, mx0, mx1 := inf, inf, -inf, -inf
	var z0, z1 uint64
	var bad0, bad1 float32
	i := 0
	for ; i+2 <= len(d); i += 2 {
		a, b := d[i], d[i+1]
		bad0 += a - a
		bad1 += b - b
		if a < mn0 {
			mn0 = a
		}
		if a > mx0 {
			mx0 = a
		}
		if b < mn1 {
			mn1 = b
		}
		if b > mx1 {
			mx1 = b
		}
		z0 += (uint64(math.Float32bits(a)<<1) - 1) >> 63
		z1 += (uint64(math.Float32bits(b)<<1) - 1) >> 63
	}
	for ; i < len(d); i++ {
		a := d[i]
		bad0 += a - a
		mn0, mx0 = min32(mn0, a), max32(mx0, a)
		z0 += (uint64(math.Float32bits(a)<<1) - 1) >> 63
	}
	if bad0+bad1 != 0 {
		for j, v := range d {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				out.err = errNonFinite{v, s + j}
				return out
			}
		}
	}
	out.zeros = int64(z0 + z1)
	out.min, out.max = float64(min32(mn0, mn1)), float64(max32(mx0, mx1))
	if out.zeros == int64(len(d)) {
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

func min32(a, b float32) float32 {
	if b < a {
		return b
	}
	return a
}

func max32(a, b float32) float32 {
	if b > a {
		return b
	}
	return a
}

// bin counts data[s:e] into bins and reps (laid out like h.bins, from grid index
// h.lo), which must cover the values. The grid index is floor(v/width); width is a
// power of two, so v*(1/width) is exact in float64. A value is in a run when it is
// not zero and equals a neighbour in data (the sequential definition: every value of
// a run of two or more equal values). The loop has no data-dependent branch (ReLU
// outputs are zero at random): zeros are counted in the bin of 0 and taken out of it
// at the end, and the run test is integer arithmetic on the bits; only a value in a
// run, which is rare, takes a branch.
func (h *histogram) bin(data []float32, s, e int, bins, reps []float64) {
	if s >= e {
		return
	}
	inv := 1 / h.width
	lo := h.lo
	// prev and next are the bits of the neighbours of the value being binned; NaN
	// bits equal no value of data (scanned finite).
	const none = 0x7fc00001
	prev := uint32(none)
	if s > 0 {
		prev = math.Float32bits(data[s-1])
	}
	d := data[s:e]
	last := uint32(none)
	if e < len(data) {
		last = math.Float32bits(data[e])
	}
	var zeros uint64
	cur := math.Float32bits(d[0])
	for i := range d {
		next := last
		if i+1 < len(d) {
			next = math.Float32bits(d[i+1])
		}
		v := math.Float32frombits(cur)
		zero := (uint64(cur<<1) - 1) >> 63
		inRun := ((uint64(cur^prev) - 1) >> 63) | ((uint64(cur^next) - 1) >> 63)
		k := int(math.Floor(float64(v)*inv)) - lo
		bins[k]++
		if inRun&^zero != 0 { // rare, so predicted: point masses are few values
			reps[k]++
		}
		zeros += zero
		prev, cur = cur, next
	}
	if zeros > 0 {
		bins[-lo] -= float64(zeros)
	}
}

func (h *histogram) index(x float64) int { return gridIndex(x, h.width) }

func gridIndex(x, w float64) int { return int(math.Floor(x * (1 / w))) }

// fits reports whether bins of width w cover [lo, hi] with at most histMaxBins bins
// on either side of zero.
func fits(w, lo, hi float64) bool {
	// In float64: a grid index beyond the range of int (a batch of 1e-30s, then
	// one of -3) would wrap around and pass (and cover would then panic).
	inv := 1 / w
	return math.Floor(lo*inv) >= -histMaxBins && math.Floor(hi*inv)+1 <= histMaxBins
}

// cover grows the grid so that [lo, hi] falls inside it, doubling the width while the
// span on either side of zero would exceed histMaxBins.
func (h *histogram) cover(lo, hi float64) {
	for !fits(h.width, lo, hi) || !fits(h.width, h.min, h.max) {
		h.coarsen()
	}
	klo, khi := h.index(lo), h.index(hi)
	curHi := h.lo + len(h.bins) - 1
	if klo >= h.lo && khi <= curHi {
		return
	}
	nlo, nhi := min(klo, h.lo), max(khi, curHi)
	nb := make([]float64, nhi-nlo+1)
	copy(nb[h.lo-nlo:], h.bins)
	nr := make([]float64, nhi-nlo+1)
	copy(nr[h.lo-nlo:], h.reps)
	h.bins, h.reps, h.lo = nb, nr, nlo
}

// coarsen doubles the bin width: grid bins 2j and 2j+1 become bin j.
func (h *histogram) coarsen() {
	nlo := h.lo >> 1 // arithmetic shift: floor division for negative indices
	nhi := (h.lo + len(h.bins) - 1) >> 1
	nb := make([]float64, nhi-nlo+1)
	nr := make([]float64, nhi-nlo+1)
	for i, c := range h.bins {
		nb[((h.lo+i)>>1)-nlo] += c
		nr[((h.lo+i)>>1)-nlo] += h.reps[i]
	}
	h.bins, h.reps, h.lo = nb, nr, nlo
	h.width *= 2
}

// side returns the one-sided histogram of |x| for the positive (neg=false) or the
// negative values: out[i] counts |x| in [i*width, (i+1)*width). Exact zeros are not
// included.
func (h *histogram) side(neg bool) []float64 { return trimZeros(h.sideOf(h.bins, neg)) }

// sideReps is side for the point-mass counts, with the same length as side(neg).
func (h *histogram) sideReps(neg bool) []float64 {
	return h.sideOf(h.reps, neg)[:len(h.side(neg))]
}

func (h *histogram) sideOf(bins []float64, neg bool) []float64 {
	if h.width == 0 {
		return nil
	}
	if !neg {
		hi := h.lo + len(bins) // exclusive
		if hi <= 0 {
			return nil
		}
		start := max(0, h.lo)
		out := make([]float64, hi)
		copy(out[start:], bins[start-h.lo:])
		return out
	}
	if h.lo >= 0 {
		return nil
	}
	out := make([]float64, -h.lo)
	for k := h.lo; k < 0 && k < h.lo+len(bins); k++ {
		out[-k-1] = bins[k-h.lo]
	}
	return out
}

// abs returns the histogram of |x| (both sides folded; exact zeros excluded).
func (h *histogram) abs() []float64 { return h.fold(h.side(false), h.side(true)) }

// absReps is abs for the point-mass counts, with the same length as abs().
func (h *histogram) absReps() []float64 {
	return h.fold(h.sideReps(false), h.sideReps(true))[:len(h.abs())]
}

func (h *histogram) fold(p, n []float64) []float64 {
	out := make([]float64, max(len(p), len(n)))
	for i, c := range p {
		out[i] += c
	}
	for i, c := range n {
		out[i] += c
	}
	return out
}

func trimZeros(b []float64) []float64 {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return b[:n]
}

// memBytes is the memory held by the histogram's bins.
func (h *histogram) memBytes() int { return 8 * (cap(h.bins) + cap(h.reps)) }
