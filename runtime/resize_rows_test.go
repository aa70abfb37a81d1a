package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// refResampleAxis is the per-element definition resampleAxis must reproduce bit
// for bit: y[o, j, i] = sum over the taps, in order, of w * x[o, idx, i].
func refResampleAxis(m *axisMap, x, y []float32, outer, inner int, extrapolation float64) {
	for o := 0; o < outer; o++ {
		for j := 0; j < m.out; j++ {
			for i := 0; i < inner; i++ {
				at := (o*m.out+j)*inner + i
				switch {
				case m.extra != nil && m.extra[j]:
					y[at] = float32(extrapolation)
				case m.w == nil:
					y[at] = x[(o*m.in+m.idx[j])*inner+i]
				default:
					var s float64
					for t := 0; t < m.taps; t++ {
						s += m.w[j*m.taps+t] * float64(x[(o*m.in+m.idx[j*m.taps+t])*inner+i])
					}
					y[at] = float32(s)
				}
			}
		}
	}
}

func TestResampleAxisMatchesDefinition(t *testing.T) {
	for _, c := range []struct {
		name              string
		k                 resizeKernel
		outer, in, out, n int // n: inner elements
		roi               []float64
	}{
		// LR-ASPP's head: bilinear 8x of 21 channels (NCHW W axis, then H axis with a long inner).
		{name: "linear 8x, short rows", k: resizeKernel{mode: "linear", ctm: "half_pixel"}, outer: 21 * 40, in: 40, out: 320, n: 1},
		{name: "linear 8x, one element per row", k: resizeKernel{mode: "linear", ctm: "pytorch_half_pixel"}, outer: 21 * 320, in: 40, out: 320, n: 1},
		{name: "linear 8x, long rows", k: resizeKernel{mode: "linear", ctm: "half_pixel"}, outer: 1, in: 40, out: 320, n: 21 * 40},
		{name: "linear NHWC channels inner", k: resizeKernel{mode: "linear", ctm: "pytorch_half_pixel"}, outer: 40, in: 40, out: 320, n: 21},
		{name: "linear downsample align_corners", k: resizeKernel{mode: "linear", ctm: "align_corners"}, outer: 7, in: 33, out: 10, n: 5},
		{name: "cubic", k: resizeKernel{mode: "cubic", ctm: "half_pixel", cubicA: -0.75}, outer: 3, in: 9, out: 31, n: 70},
		{name: "cubic exclude_outside", k: resizeKernel{mode: "cubic", ctm: "asymmetric", cubicA: -0.5, excludeOutside: true}, outer: 2, in: 6, out: 13, n: 3},
		{name: "nearest", k: resizeKernel{mode: "nearest", ctm: "asymmetric", nearest: "floor"}, outer: 5, in: 8, out: 19, n: 300},
		{name: "tf_crop_and_resize extrapolation", k: resizeKernel{mode: "linear", ctm: "tf_crop_and_resize", extrapolation: -7}, outer: 4, in: 10, out: 25, n: 9,
			roi: []float64{-0.2, 1.3}},
	} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d threads", c.name, threads), func(t *testing.T) {
				rng := rand.New(rand.NewSource(1))
				m := c.k.axisMap(c.in, c.out, float64(c.out)/float64(c.in), c.roi)
				x := make([]float32, c.outer*c.in*c.n)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				want := make([]float32, c.outer*c.out*c.n)
				got := make([]float32, len(want))
				refResampleAxis(m, x, want, c.outer, c.n, c.k.extrapolation)
				resampleAxis(m, x, got, c.outer, c.n, c.k.extrapolation, threads)
				require.Equal(t, want, got)
			})
		}
	}
}

func TestInt8Conversions(t *testing.T) {
	codes := make([]int8, 50000)
	for i := range codes {
		codes[i] = int8(i*37 + 11)
	}
	for _, threads := range []int{1, 2} {
		w := widenInt8(codes, threads)
		for i, c := range codes {
			require.Equal(t, float32(c), w[i])
		}
		y := []float32{-200, -128.5, -127.5, -0.5, 0.5, 1.5, 2.5, 126.5, 127.4, 300, float32(math.NaN()), float32(math.Inf(-1)), -3.4999998, 3.5000002}
		require.Equal(t, []int8{-128, -128, -128, 0, 0, 2, 2, 126, 127, 127, 0, -128, -3, 4}, narrowInt8(y, threads))
		// Against the definition on a dense grid of quarter and near-tie values.
		var grid []float32
		for v := float32(-130); v <= 130; v += 0.125 {
			grid = append(grid, v, math.Nextafter32(v, 1000), math.Nextafter32(v, -1000))
		}
		got := narrowInt8(grid, threads)
		for i, v := range grid {
			require.Equal(t, int8(math.Max(-128, math.Min(127, math.RoundToEven(float64(v))))), got[i], "%v", v)
		}
	}
}
