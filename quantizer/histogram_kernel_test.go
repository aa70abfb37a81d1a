package quantizer

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime"
)

// The binning passes on the vectorized kernel (scanBin, scanBinRows over
// kernels.BinF32) against the scalar loops they replaced (scanBinRef,
// scanBinRowsRef below, the session-start code): the same min, max, zeros, bin
// and run counts, bit for bit, and the same out-of-grid verdict, on the
// histogram cases plus the edges of the grid: values on bin boundaries and
// their float32 neighbours, values equal to the grid's range ends, -0,
// denormals, huge ranges, runs across chunk and row ends; chunks of 1 to 3 per
// tensor and rows of 1 to 40 channels.

// binEdgeCases adds the edge inputs to histCases.
func binEdgeCases(rng *rand.Rand) map[string][]float32 {
	cases := histCases()
	w := 1.0 / 32
	bounds := make([]float32, 5003)
	for i := range bounds {
		v := float32(float64(rng.Intn(257)-128) * w)
		switch rng.Intn(3) {
		case 1:
			v = math.Nextafter32(v, float32(math.Inf(1)))
		case 2:
			v = math.Nextafter32(v, float32(math.Inf(-1)))
		}
		bounds[i] = v
	}
	bounds[0], bounds[len(bounds)-1] = -4, 4 // the range ends, bin edges
	cases["boundaries"] = bounds
	den := make([]float32, 4001)
	for i := range den {
		den[i] = math.Float32frombits(uint32(rng.Intn(1 << 20)))
		if rng.Intn(2) == 0 {
			den[i] = -den[i]
		}
	}
	cases["denormals"] = den
	huge := make([]float32, 3003)
	for i := range huge {
		huge[i] = float32((rng.Float64()*2 - 1) * math.MaxFloat32)
	}
	huge[7], huge[8] = math.MaxFloat32, -math.MaxFloat32
	cases["huge"] = huge
	mixed := make([]float32, 2049)
	for i := range mixed {
		switch rng.Intn(4) {
		case 0:
			mixed[i] = float32(math.Copysign(0, -1))
		case 1:
			mixed[i] = 0
		default:
			mixed[i] = float32(rng.Intn(5)) * 0.25 // runs of equal values
		}
	}
	cases["zeros and runs"] = mixed
	return cases
}

// gridFor returns a histogram whose grid covers d (as the first batch would set it).
func gridFor(d []float32) *histogram {
	h := newHistogram()
	mn, mx := kernels.MinMaxF32(d)
	bmin, bmax := math.Min(float64(mn), 0), math.Max(float64(mx), 0)
	if bmin == 0 && bmax == 0 {
		bmax = 1
	}
	h.initGrid(bmin+0, bmax+0)
	return h
}

// binWith runs scan on the kernel's counters and returns the summed bins and
// reps (tables tables).
func binWith(h *histogram, tables int, scan func(g *kernels.BinGrid) (valueScan, bool)) (valueScan, bool, []uint32, []uint32) {
	nb := len(h.bins)
	cnt := make([]uint32, (tables+1)*nb)
	g := &kernels.BinGrid{Inv: 1 / h.width, Lo: h.lo, NB: nb, Reps: cnt[tables*nb:]}
	for t := range g.Tables {
		g.Tables[t] = cnt[t%tables*nb : (t%tables+1)*nb]
	}
	sc, oob := scan(g)
	bins := make([]uint32, nb)
	for t := 0; t < tables; t++ {
		for k, m := range cnt[t*nb : (t+1)*nb] {
			bins[k] += m
		}
	}
	return sc, oob, bins, cnt[tables*nb:]
}

func TestScanBinMatchesScalarReference(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	for name, d := range binEdgeCases(rng) {
		h := gridFor(d)
		for _, nch := range []int{1, 2, 3} {
			for _, tables := range []int{1, 4} {
				t.Run(fmt.Sprintf("%s/chunks%d/tables%d", name, nch, tables), func(t *testing.T) {
					for c := 0; c < nch; c++ {
						s, e := c*len(d)/nch, (c+1)*len(d)/nch
						if s == e {
							continue
						}
						ref := make([]uint32, 2*len(h.bins))
						wsc, woob := h.scanBinRef(d, s, e, ref)
						gsc, goob, bins, reps := binWith(h, tables, func(g *kernels.BinGrid) (valueScan, bool) { return scanBin(d, s, e, g) })
						require.Equal(t, woob, goob)
						require.False(t, goob)
						require.Equal(t, wsc, gsc)
						require.Equal(t, ref[:len(h.bins)], bins)
						require.Equal(t, ref[len(h.bins):], reps)
					}
					// Outside the grid: a value beyond either end, NaN, Inf.
					for _, bad := range []float32{float32(h.lo-1) * float32(h.width), float32(h.lo+len(h.bins)) * float32(h.width), float32(math.NaN()), float32(math.Inf(1))} {
						b := append([]float32(nil), d...)
						b[rng.Intn(len(b))] = bad
						_, woob := h.scanBinRef(b, 0, len(b), make([]uint32, 2*len(h.bins)))
						_, goob, _, _ := binWith(h, tables, func(g *kernels.BinGrid) (valueScan, bool) { return scanBin(b, 0, len(b), g) })
						require.Equal(t, woob, goob, "%v", bad)
					}
				})
			}
		}
	}
}

func TestScanBinRowsMatchesScalarReference(t *testing.T) {
	rng := rand.New(rand.NewSource(18))
	cases := binEdgeCases(rng)
	for _, name := range []string{"boundaries", "denormals", "huge", "zeros and runs", "relu6", "signed"} {
		src := cases[name]
		for _, l := range []runtime.ChannelsLast{
			{N: 2, C: 40, H: 3, W: 5, Stride: 48},
			{N: 1, C: 16, H: 4, W: 4, Stride: 16},
			{N: 3, C: 1, H: 5, W: 2, Stride: 1},
			{N: 1, C: 17, H: 2, W: 9, Stride: 17},
		} {
			d := make([]float32, l.Pixels()*l.Stride)
			for i := range d {
				d[i] = src[rng.Intn(len(src))]
				if rng.Intn(4) == 0 && i >= l.Stride {
					d[i] = d[i-l.Stride] // runs along the pixels of a channel
				}
			}
			h := gridFor(d)
			none := make([]float32, l.C)
			for k := range none {
				none[k] = math.Float32frombits(noValue)
			}
			rows := l.Pixels()
			for _, first := range []int{0, 3} {
				for _, tables := range []int{1, 4} {
					t.Run(fmt.Sprintf("%s/%+v/first%d/tables%d", name, l, first, tables), func(t *testing.T) {
						dd := d[first*l.Stride:]
						n := rows - first
						for _, se := range [][2]int{{0, n}, {0, n / 2}, {n / 2, n}} {
							ref := make([]uint32, 2*len(h.bins))
							wsc, woob := h.scanBinRowsRef(dd, se[0], se[1], first, l, none, ref)
							gsc, goob, bins, reps := binWith(h, tables, func(g *kernels.BinGrid) (valueScan, bool) {
								return scanBinRows(dd, se[0], se[1], first, l, none, g)
							})
							require.False(t, woob)
							require.Equal(t, woob, goob)
							require.Equal(t, wsc, gsc)
							require.Equal(t, ref[:len(h.bins)], bins)
							require.Equal(t, ref[len(h.bins):], reps)
						}
					})
				}
			}
		}
	}
}

// scanBinRef is the session-start scalar scanBin (the reference of
// TestScanBinMatchesScalarReference).
func (h *histogram) scanBinRef(data []float32, s, e int, cnt []uint32) (out valueScan, outOfGrid bool) {
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

// scanBinRowsRef is the session-start scalar scanBinRows.
func (h *histogram) scanBinRowsRef(d []float32, s, e, first int, l runtime.ChannelsLast, none []float32, cnt []uint32) (out valueScan, outOfGrid bool) {
	nb := len(cnt) / 2
	bins, reps := cnt[:nb], cnt[nb:2*nb]
	inv := 1 / h.width
	lo := h.lo
	rows, plane, st, c := len(d)/l.Stride, l.H*l.W, l.Stride, l.C
	inf := float32(math.Inf(1))
	mn, mx := inf, -inf
	var zeros uint64
	for j := s; j < e; j++ {
		p := (first + j) % plane
		row := d[j*st : j*st+c]
		prev, next := none, none
		if p >= 1 && j >= 1 {
			prev = d[(j-1)*st : (j-1)*st+c]
		}
		if p < plane-1 && j+1 < rows {
			next = d[(j+1)*st : (j+1)*st+c]
		}
		prev, next = prev[:len(row)], next[:len(row)]
		for i, v := range row {
			cur := math.Float32bits(v)
			mn, mx = min32(mn, v), max32(mx, v)
			k := int(math.Floor(float64(v)*inv)) - lo
			if uint(k) >= uint(nb) {
				return out, true
			}
			bins[k]++
			zero := (uint64(cur<<1) - 1) >> 63
			inRun := ((uint64(cur^math.Float32bits(prev[i])) - 1) >> 63) | ((uint64(cur^math.Float32bits(next[i])) - 1) >> 63)
			if inRun&^zero != 0 {
				reps[k]++
			}
			zeros += zero
		}
	}
	n := (e - s) * c
	out.zeros = int64(zeros)
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
	return out, false
}
