package quantizer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refScan and refBin are the straightforward loops the branch-free scanValues and
// bin must agree with.
func refScan(data []float32) (mn, mx float64, zeros int64, err error) {
	mn, mx = math.Inf(1), math.Inf(-1)
	for i, v := range data {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, 0, 0, errNonFinite{v, i}
		}
		if f == 0 {
			zeros++
			continue
		}
		mn, mx = math.Min(mn, f), math.Max(mx, f)
	}
	if zeros > 0 && zeros < int64(len(data)) {
		mn, mx = math.Min(mn, 0), math.Max(mx, 0)
	}
	return mn, mx, zeros, nil
}

func refBin(h *histogram, data []float32, bins, reps []float64) {
	inRun := false
	for i, v := range data {
		if v == 0 {
			inRun = false
			continue
		}
		k := int(math.Floor(float64(v)*(1/h.width))) - h.lo
		bins[k]++
		if i > 0 && data[i-1] == v {
			if inRun {
				reps[k]++
			} else {
				reps[k] += 2
				inRun = true
			}
		} else {
			inRun = false
		}
	}
}

// histCases are value distributions the histogram sees: ReLU outputs (half zeros,
// unpredictable), signed conv outputs, saturating ReLU6 runs, -0, tiny and large
// magnitudes, constant and all-zero tensors.
func histCases() map[string][]float32 {
	rng := rand.New(rand.NewSource(3))
	gen := func(n int, f func(i int) float32) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = f(i)
		}
		return d
	}
	out := map[string][]float32{
		"relu":   gen(100003, func(int) float32 { return max(0, float32(rng.NormFloat64())) }),
		"signed": gen(70001, func(int) float32 { return float32(rng.NormFloat64() * 40) }),
		"relu6":  gen(50000, func(int) float32 { return min(6, max(0, float32(rng.NormFloat64()*5))) }),
		"negzero": gen(1000, func(i int) float32 {
			if i%2 == 0 {
				return float32(math.Copysign(0, -1))
			}
			return float32(rng.Float64() + 0.5)
		}),
		"tiny":     gen(3001, func(int) float32 { return float32(rng.NormFloat64() * 1e-30) }),
		"large":    gen(3001, func(int) float32 { return float32(rng.NormFloat64() * 1e30) }),
		"constant": gen(999, func(int) float32 { return 2.5 }),
		"zeros":    make([]float32, 777),
		"one":      {-3},
	}
	return out
}

func TestScanValuesMatchesReference(t *testing.T) {
	for name, d := range histCases() {
		mn, mx, z, err := refScan(d)
		require.NoError(t, err)
		got := scanValues(d, 0, len(d))
		require.NoError(t, got.err, name)
		assert.Equal(t, z, got.zeros, name)
		if z < int64(len(d)) {
			assert.Equal(t, math.Float64bits(mn), math.Float64bits(got.min), name)
			assert.Equal(t, math.Float64bits(mx), math.Float64bits(got.max), name)
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
			b := append(append([]float32(nil), d...), bad, 1)
			b[len(b)/2] = bad
			_, _, _, want := refScan(b)
			got := scanValues(b, 0, len(b)).err
			require.Error(t, got, name)
			assert.Equal(t, want.Error(), got.Error(), name)
		}
	}
}

func TestHistogramBinMatchesReference(t *testing.T) {
	for name, d := range histCases() {
		h := newHistogram()
		require.NoError(t, h.add(d), name)
		if h.width == 0 {
			continue
		}
		bins, reps := make([]float64, len(h.bins)), make([]float64, len(h.reps))
		refBin(h, d, bins, reps)
		assert.Equal(t, bins, h.bins, name)
		assert.Equal(t, reps, h.reps, name)
	}
}

// BenchmarkHistogramAdd bins 4 Mi ReLU outputs (half of them zero) or signed values
// (conv outputs: no zeros) on one thread: /fast into a new histogram, /next into
// one whose grid covers them (one pass), /next-twopass the same by scan and bin;
// /reference is the straightforward loops above on the same values.
func BenchmarkHistogramAdd(b *testing.B) {
	for _, relu := range []bool{true, false} {
		name := "relu"
		if !relu {
			name = "signed"
		}
		b.Run(name, func(b *testing.B) { benchHistogramAdd(b, relu) })
	}
}

func benchHistogramAdd(b *testing.B, relu bool) {
	rng := rand.New(rand.NewSource(1))
	d := make([]float32, 4<<20)
	for i := range d {
		d[i] = float32(rng.NormFloat64())
		if relu {
			d[i] = max(0, d[i])
		}
	}
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(4 * len(d)))
		for i := 0; i < b.N; i++ {
			_ = newHistogram().addPar(d, 1)
		}
	})
	// A batch after the first: the grid covers it, so addPar bins in one pass
	// (histogram_fused.go); twopass is the scan-then-bin path on the same grid.
	b.Run("next", func(b *testing.B) {
		h := newHistogram()
		require.NoError(b, h.add(d))
		b.SetBytes(int64(4 * len(d)))
		for i := 0; i < b.N; i++ {
			_ = h.addPar(d, 1)
		}
	})
	b.Run("next-twopass", func(b *testing.B) {
		h := newHistogram()
		require.NoError(b, h.add(d))
		b.SetBytes(int64(4 * len(d)))
		for i := 0; i < b.N; i++ {
			_ = h.addTwoPass(d, 1)
		}
	})
	b.Run("reference", func(b *testing.B) {
		h := newHistogram()
		require.NoError(b, h.add(d))
		b.SetBytes(int64(4 * len(d)))
		for i := 0; i < b.N; i++ {
			_, _, _, _ = refScan(d)
			refBin(h, d, h.bins, h.reps)
		}
	})
}
