package quantizer

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/runtime"
)

// A channels-last tensor added by pixel rows (whole, or in pieces of any number
// of pixels) gives bit for bit the histogram of adding the same tensor in NCHW
// order, over layouts with padded pixels, one or two pixels per image, several
// images, and runs of equal values inside a channel, across the end of a channel
// plane (into the next channel and the next image), across piece ends, and of
// zeros (never runs); batches follow each other into one histogram.
func TestHistogramAddRowsMatchesNCHW(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	layouts := []runtime.ChannelsLast{
		{N: 1, C: 16, H: 5, W: 7, Stride: 16},
		{N: 3, C: 24, H: 4, W: 3, Stride: 32},
		{N: 2, C: 3, H: 1, W: 2, Stride: 3},
		{N: 4, C: 5, H: 1, W: 1, Stride: 16},
		{N: 2, C: 8, H: 2, W: 1, Stride: 8},
		{N: 2, C: 512, H: 3, W: 2, Stride: 528},
	}
	for li, l := range layouts {
		plane := l.H * l.W
		for _, kind := range []string{"signed", "relu", "runs"} {
			// NCHW values, then the channels-last rows (padding holds garbage).
			gen := func() ([]float32, []float32) {
				nchw := make([]float32, l.N*l.C*plane)
				for i := range nchw {
					v := float32(rng.NormFloat64())
					switch kind {
					case "relu":
						v = max(0, v)
					case "runs":
						// Few distinct values, zeros among them, so that equal
						// neighbours occur everywhere, plane ends included.
						v = float32(rng.Intn(3)) * 0.5
					}
					nchw[i] = v
				}
				rows := make([]float32, l.N*plane*l.Stride)
				for i := range rows {
					rows[i] = float32(rng.NormFloat64()) * 100
				}
				for n := 0; n < l.N; n++ {
					for c := 0; c < l.C; c++ {
						for p := 0; p < plane; p++ {
							rows[(n*plane+p)*l.Stride+c] = nchw[(n*l.C+c)*plane+p]
						}
					}
				}
				return nchw, rows
			}
			for _, piece := range []int{0, 1, 2, 3, 5} {
				name := fmt.Sprintf("layout %d %s pieces of %d pixels", li, kind, piece)
				want, got := newHistogram(), newHistogram()
				for batch := 0; batch < 3; batch++ {
					nchw, rows := gen()
					require.NoError(t, want.add(nchw), name)
					if piece == 0 {
						require.NoError(t, got.addRows(rows, 0, l, 2, false), name)
					} else {
						for first := 0; first < l.Pixels(); first += piece {
							end := min(l.Pixels(), first+piece)
							require.NoError(t, got.addRows(rows[first*l.Stride:end*l.Stride], first, l, 2, false), name)
						}
					}
					assertSameHistogram(t, want, got, "%s, batch %d", name, batch)
				}
			}
		}
	}
}

// Pieces out of order, or a layout the data does not fit, are errors.
func TestHistogramAddRowsErrors(t *testing.T) {
	l := runtime.ChannelsLast{N: 1, C: 2, H: 2, W: 2, Stride: 2}
	h := newHistogram()
	require.Error(t, h.addRows(make([]float32, 3), 0, l, 1, false), "not whole pixels")
	require.Error(t, h.addRows(make([]float32, 4), 2, l, 1, false), "a piece before the first")
	require.NoError(t, h.addRows(make([]float32, 4), 0, l, 1, false))
	require.Error(t, h.addRows(make([]float32, 2), 3, l, 1, false), "a piece skipped")
	require.Error(t, h.addRows(make([]float32, 6), 2, l, 1, false), "past the end")
}

// Non-finite values in channels-last rows are handled as observe handles them
// in NCHW order, without converting the tensor: infinities are dropped (NaNs
// too with dropNaN), the values around a dropped one become neighbours (runs
// through a gap count), a channel plane or a whole image may be dropped
// entirely, and pieces with and without non-finite values alternate (the
// vectorized and the value-by-value paths share the run state). A NaN that is
// not dropped is an error naming its NCHW element.
func TestHistogramAddRowsDropsNonFinite(t *testing.T) {
	rng := rand.New(rand.NewSource(19))
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	layouts := []runtime.ChannelsLast{
		{N: 1, C: 16, H: 5, W: 7, Stride: 16},
		{N: 3, C: 24, H: 4, W: 3, Stride: 32},
		{N: 2, C: 3, H: 1, W: 2, Stride: 3},
		{N: 4, C: 5, H: 1, W: 1, Stride: 16},
		{N: 3, C: 8, H: 2, W: 1, Stride: 8},
	}
	for li, l := range layouts {
		plane := l.H * l.W
		for _, kind := range []string{"sparse", "dense", "planes", "image", "nan"} {
			gen := func() ([]float32, []float32) {
				nchw := make([]float32, l.N*l.C*plane)
				for i := range nchw {
					nchw[i] = float32(rng.Intn(3)) * 0.5 // runs everywhere, zeros among them
					switch r := rng.Intn(100); {
					case kind == "sparse" && r < 3, kind == "dense" && r < 40:
						nchw[i] = inf
						if rng.Intn(2) == 0 {
							nchw[i] = -inf
						}
					case kind == "nan" && r < 10:
						nchw[i] = nan
					case kind == "nan" && r < 20:
						nchw[i] = -inf
					}
				}
				switch kind {
				case "planes": // channel planes entirely infinite
					for n := 0; n < l.N; n++ {
						for c := 0; c < l.C; c += 2 {
							for p := 0; p < plane; p++ {
								nchw[(n*l.C+c)*plane+p] = -inf
							}
						}
					}
				case "image": // the middle image entirely infinite (or the only one)
					n := l.N / 2
					for i := n * l.C * plane; i < (n+1)*l.C*plane; i++ {
						nchw[i] = inf
					}
				}
				rows := make([]float32, l.N*plane*l.Stride)
				for i := range rows {
					rows[i] = float32(rng.NormFloat64()) * 100
				}
				for n := 0; n < l.N; n++ {
					for c := 0; c < l.C; c++ {
						for p := 0; p < plane; p++ {
							rows[(n*plane+p)*l.Stride+c] = nchw[(n*l.C+c)*plane+p]
						}
					}
				}
				return nchw, rows
			}
			for _, piece := range []int{0, 1, 2, 3, 5} {
				name := fmt.Sprintf("layout %d %s pieces of %d pixels", li, kind, piece)
				want, got := newHistogram(), newHistogram()
				for batch := 0; batch < 4; batch++ {
					nchw, rows := gen()
					if batch == 2 { // a finite batch between the others
						for i, v := range nchw {
							if v != v || math.IsInf(float64(v), 0) {
								nchw[i] = 1.5
							}
						}
						for i, v := range rows {
							if v != v || math.IsInf(float64(v), 0) {
								rows[i] = 1.5
							}
						}
					}
					if piece > 0 && batch == 3 { // finite pieces between the others
						for first := 0; first < l.Pixels(); first += 2 * piece {
							for i := first * l.Stride; i < min(l.Pixels(), first+piece)*l.Stride; i++ {
								if v := rows[i]; v != v || math.IsInf(float64(v), 0) {
									rows[i] = -0.5
								}
							}
						}
						for n := 0; n < l.N; n++ {
							for c := 0; c < l.C; c++ {
								for p := 0; p < plane; p++ {
									nchw[(n*l.C+c)*plane+p] = rows[(n*plane+p)*l.Stride+c]
								}
							}
						}
					}
					require.NoError(t, want.add(dropNonFinite(nchw)), name)
					add := func(d []float32, first int) error { return got.addRows(d, first, l, 2, kind == "nan") }
					if piece == 0 {
						require.NoError(t, add(rows, 0), name)
					} else {
						for first := 0; first < l.Pixels(); first += piece {
							end := min(l.Pixels(), first+piece)
							require.NoError(t, add(rows[first*l.Stride:end*l.Stride], first), name)
						}
					}
					assertSameHistogram(t, want, got, "%s, batch %d", name, batch)
				}
			}
		}
	}
	// A NaN not dropped: an error naming the element in NCHW order.
	l := runtime.ChannelsLast{N: 2, C: 3, H: 2, W: 2, Stride: 4}
	rows := make([]float32, l.Pixels()*l.Stride)
	rows[(1*4+3)*l.Stride+2] = -inf // image 1, pixel 3, channel 2
	rows[(1*4+2)*l.Stride+1] = nan  // image 1, pixel 2, channel 1
	err := newHistogram().addRows(rows, 0, l, 1, false)
	var nf errNonFinite
	require.ErrorAs(t, err, &nf)
	require.Equal(t, (1*3+1)*4+2, nf.index)
	require.True(t, nf.value != nf.value)
}
