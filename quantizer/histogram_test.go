package quantizer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sum(b []float64) float64 {
	s := 0.0
	for _, v := range b {
		s += v
	}
	return s
}

func TestHistogramAdd(t *testing.T) {
	tests := []struct {
		name    string
		batches [][]float32
		count   int64
		zeros   int64
		min     float64
		max     float64
	}{
		{"positive", [][]float32{{1, 2, 3, 0}}, 4, 1, 0, 3},
		{"signed", [][]float32{{-2, 1}, {0.5, -0.25}}, 4, 0, -2, 1},
		{"grows", [][]float32{{0.1, 0.2}, {-50, 100}}, 4, 0, -50, 100},
		{"zeros first", [][]float32{{0, 0, 0}, {4, -1}}, 5, 3, -1, 4},
		{"only zeros", [][]float32{{0, 0}}, 2, 2, 0, 0},
		{"empty batch", [][]float32{{}, {1}}, 1, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistogram()
			for _, b := range tt.batches {
				require.NoError(t, h.add(b))
			}
			assert.Equal(t, tt.count, h.count)
			assert.Equal(t, tt.zeros, h.zeros)
			assert.Equal(t, tt.min, h.min)
			assert.Equal(t, tt.max, h.max)
			// Every non-zero value is in exactly one bin.
			assert.Equal(t, float64(tt.count-tt.zeros), sum(h.bins))
			assert.Equal(t, float64(tt.count-tt.zeros), sum(h.abs()))
			if h.width > 0 {
				assert.LessOrEqual(t, float64(h.lo)*h.width, h.min)
				assert.Greater(t, float64(h.lo+len(h.bins))*h.width, h.max)
			}
		})
	}
}

func TestHistogramRejectsNonFinite(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		h := newHistogram()
		err := h.add([]float32{1, v})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "element 1")
		assert.Zero(t, h.count, "a rejected batch leaves the statistics untouched")
	}
}

// The grid only grows by whole bins or doubles its width: counts never smear, and the
// number of bins stays bounded whatever the range growth.
func TestHistogramBoundedAndExact(t *testing.T) {
	h := newHistogram()
	rng := rand.New(rand.NewSource(1))
	var all []float32
	scale := float32(0.01)
	for b := 0; b < 40; b++ {
		batch := make([]float32, 500)
		for i := range batch {
			batch[i] = float32(rng.NormFloat64()) * scale
		}
		scale *= 1.5
		all = append(all, batch...)
		require.NoError(t, h.add(batch))
		assert.LessOrEqual(t, len(h.bins), 2*histMaxBins+2, "batch %d", b)
	}
	assert.Equal(t, float64(len(all)), sum(h.bins))
	// Rebuild the same histogram from all values on the final grid: identical counts.
	want := make([]float64, len(h.bins))
	for _, v := range all {
		want[int(math.Floor(float64(v)*(1/h.width)))-h.lo]++
	}
	assert.Equal(t, want, h.bins)
	amaxBins := max(-h.lo, h.lo+len(h.bins))
	assert.GreaterOrEqual(t, amaxBins, histBins)
	assert.LessOrEqual(t, amaxBins, histMaxBins+1)
}

func TestHistogramSides(t *testing.T) {
	h := newHistogram()
	require.NoError(t, h.add([]float32{-4, -1, 2, 4, 0}))
	pos, neg := h.side(false), h.side(true)
	assert.Equal(t, 2.0, sum(pos))
	assert.Equal(t, 2.0, sum(neg))
	// |x| = 4 is the last bin of both sides (bin width 4/2048; a bin includes its
	// lower edge, so +4 and -4 land one abs bin apart).
	assert.Equal(t, 1.0, pos[len(pos)-1])
	assert.Equal(t, 1.0, neg[len(neg)-1])
	assert.InDelta(t, 4.0, float64(len(pos))*h.width, 2*h.width)
	assert.InDelta(t, 4.0, float64(len(neg))*h.width, 2*h.width)
	assert.Equal(t, 4.0, sum(h.abs()))

	nonneg := newHistogram()
	require.NoError(t, nonneg.add([]float32{1, 2}))
	assert.Nil(t, nonneg.side(true))
}
