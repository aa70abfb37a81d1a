package quantizer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The one-pass path gives the histogram the two passes give, bit for bit, over
// batches whose ranges grow, shrink and stay, on one and several threads, with
// runs of equal values across chunk boundaries, and leaves the histogram as the
// two passes do on a non-finite value. The first batch with a non-zero value
// (whose grid firstGrid sets up from a vectorized min/max) is checked too, also
// after all-zero batches and when it is not finite.
func TestHistogramFusedMatchesTwoPass(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	cases := histCases()
	var batches [][]float32
	for _, name := range []string{"relu", "signed", "relu6", "negzero", "tiny", "constant", "zeros", "one"} {
		batches = append(batches, cases[name])
	}
	scaled := func(d []float32, f float32) []float32 {
		out := make([]float32, len(d))
		for i, v := range d {
			out[i] = v * f
		}
		return out
	}
	relu := cases["relu"]
	// Same range again (the one-pass path), a smaller one, a larger one (the grid
	// grows), a much larger one (it coarsens), and a run of 6s straddling the
	// chunk boundaries of 2 and 3 threads.
	runs := scaled(cases["relu6"], 1)
	for i := len(runs)/2 - 5; i < len(runs)/2+5; i++ {
		runs[i] = 6
	}
	// Large enough for several chunks (histChunk), with runs at every chunk
	// boundary of 2 and 3 threads.
	big := append(append(append([]float32(nil), relu...), runs...), scaled(relu, -1)...)
	big = append(big, big...)
	for _, n := range []int{2, 3} {
		for c := 1; c < n; c++ {
			at := c * len(big) / n
			big[at-2], big[at-1], big[at], big[at+1] = 1.25, 1.25, 1.25, 1.25
		}
	}
	seqs := [][][]float32{
		{big, big, scaled(big, 0.7), relu, big},
		{relu, relu, scaled(relu, 0.5), scaled(relu, 1.5), scaled(relu, 1e3), relu},
		{cases["signed"], scaled(cases["signed"], 0.1), cases["zeros"], cases["signed"]},
		{runs, runs, cases["constant"], cases["negzero"], runs},
		{cases["zeros"], cases["negzero"], relu, cases["tiny"]},
		{cases["tiny"], cases["one"], big},
		batches,
	}
	for _, threads := range []int{1, 2, 3} {
		for si, seq := range seqs {
			fused, two := newHistogram(), newHistogram()
			for bi, d := range seq {
				require.NoError(t, fused.addPar(d, threads))
				require.NoError(t, two.addTwoPass(d, threads))
				assertSameHistogram(t, two, fused, "threads %d, sequence %d, batch %d", threads, si, bi)
			}
			bad := append(append([]float32(nil), relu...), float32(math.Inf(1)))
			bad[rng.Intn(len(bad))] = float32(math.NaN())
			e1, e2 := fused.addPar(bad, threads), two.addTwoPass(bad, threads)
			require.Error(t, e1)
			assert.Equal(t, e2.Error(), e1.Error())
			assertSameHistogram(t, two, fused, "threads %d, sequence %d, after a non-finite batch", threads, si)
			fused, two = newHistogram(), newHistogram()
			e1, e2 = fused.addPar(bad, threads), two.addTwoPass(bad, threads)
			require.Error(t, e1)
			assert.Equal(t, e2.Error(), e1.Error())
			assertSameHistogram(t, two, fused, "threads %d, sequence %d, a non-finite first batch", threads, si)
		}
	}
}

func assertSameHistogram(t *testing.T, want, got *histogram, msg string, args ...any) {
	t.Helper()
	assert.Equal(t, want.count, got.count, append([]any{msg + ": count"}, args...)...)
	assert.Equal(t, want.zeros, got.zeros, append([]any{msg + ": zeros"}, args...)...)
	assert.Equal(t, math.Float64bits(want.min), math.Float64bits(got.min), append([]any{msg + ": min"}, args...)...)
	assert.Equal(t, math.Float64bits(want.max), math.Float64bits(got.max), append([]any{msg + ": max"}, args...)...)
	assert.Equal(t, want.width, got.width, append([]any{msg + ": width"}, args...)...)
	assert.Equal(t, want.lo, got.lo, append([]any{msg + ": lo"}, args...)...)
	assert.Equal(t, want.bins, got.bins, append([]any{msg + ": bins"}, args...)...)
	assert.Equal(t, want.reps, got.reps, append([]any{msg + ": reps"}, args...)...)
}
