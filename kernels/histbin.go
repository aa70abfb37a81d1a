package kernels

import "math"

// The binning loop of the calibration histograms (package quantizer,
// histogram.go): each value's bin on a grid of power-of-two width anchored at
// zero, its count, the running min and max, the exact zeros, and whether the
// value is in a run of equal neighbours (a point mass for ENTROPY). The
// assembly (kernels/_gen/gen_histbin.go, AVX-512 or AVX2) bins the
// vector-aligned prefix of each call, binF32Go below the rest; both count
// exactly the same (TestBinF32MatchesReference).

// BinGrid is the grid and the counters BinF32 adds to.
type BinGrid struct {
	// Inv is 1/width, width a power of two: x·Inv is exact in float64.
	Inv float64
	// Lo is the grid index of counter 0; a value x goes to counter
	// floor(x·Inv) - Lo, which must be below NB.
	Lo, NB int
	// Tables are the value counters, NB each; the value at position i of a
	// call goes to Tables[i&3] (the four may be one slice: the counts are then
	// the same, only slower on runs of one bin). The sum over the tables is the
	// histogram, zeros included (in the counter of 0).
	Tables [4][]uint32
	// Reps, NB counters, count the values in a run: not zero and with the
	// bits of prev[i] or next[i].
	Reps []uint32
}

// BinAcc accumulates the min, max and number of exact zeros of the values
// BinF32 binned; NewBinAcc or Reset starts one. Its layout is the assembly's.
type BinAcc struct {
	min, max [16]float32
	zeros    uint64
	_        [7]uint64
	idx      [16]int32 // the kernels' scratch: a vector of indices
}

// NewBinAcc returns an accumulator that has seen no value.
func NewBinAcc() *BinAcc {
	a := &BinAcc{}
	a.Reset()
	return a
}

// Reset makes a an accumulator that has seen no value.
func (a *BinAcc) Reset() {
	for l := range a.min {
		a.min[l], a.max[l] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	a.zeros = 0
}

// Result returns the min, max (±Inf when nothing was binned; of -0 and +0
// either may be returned when both occur) and the number of zeros (-0
// included).
func (a *BinAcc) Result() (mn, mx float32, zeros int64) {
	mn, mx = a.min[0], a.max[0]
	for l := 1; l < len(a.min); l++ {
		mn, mx = min32(mn, a.min[l]), max32(mx, a.max[l])
	}
	return mn, mx, int64(a.zeros)
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

// BinF32 bins x on g, counting x[i] as in a run when it is not zero (±0)
// and has the bits of prev[i] or next[i] (len(prev), len(next) >= len(x):
// the neighbours of x[i], a NaN pattern where there is none), and adds
// x's min, max and zeros to acc. It reports false when a value is outside
// the grid or not finite; the counts and acc are then meaningless (the
// caller discards them).
func BinF32(x, prev, next []float32, g *BinGrid, acc *BinAcc) bool {
	if len(x) == 0 {
		return true
	}
	_, _ = prev[len(x)-1], next[len(x)-1]
	for _, t := range g.Tables {
		_ = t[g.NB-1]
	}
	_ = g.Reps[g.NB-1]
	v := binF32Vec(x, prev, next, g, acc)
	if v < 0 {
		return false
	}
	return binF32Go(x[v:], prev[v:], next[v:], g, acc, v)
}

// binF32Go is the reference: the scalar loop of the quantizer's scanBin. pos is
// the position of x[0] in the call (its table is pos&3).
func binF32Go(x, prev, next []float32, g *BinGrid, acc *BinAcc, pos int) bool {
	inv, lo, nb := g.Inv, g.Lo, g.NB
	mn, mx := acc.min[0], acc.max[0]
	var zeros uint64
	for i, v := range x {
		cur := math.Float32bits(v)
		mn, mx = min32(mn, v), max32(mx, v)
		k := int(math.Floor(float64(v)*inv)) - lo
		if uint(k) >= uint(nb) { // outside the grid, or not finite
			return false
		}
		g.Tables[(pos+i)&3][k]++
		zero := (uint64(cur<<1) - 1) >> 63
		inRun := ((uint64(cur^math.Float32bits(prev[i])) - 1) >> 63) | ((uint64(cur^math.Float32bits(next[i])) - 1) >> 63)
		if inRun&^zero != 0 { // rare, so predicted: point masses are few values
			g.Reps[k]++
		}
		zeros += zero
	}
	acc.min[0], acc.max[0] = mn, mx
	acc.zeros += zeros
	return true
}
