package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTapKernels checks TapsF32 and TapsDotF32 on every path, bit for bit against
// the Go references (which define the rounding: tap order, eight dot lanes), and
// against float64 sums within rounding, for 1 to 12 taps at run lengths around
// the 8- and 32-element blocks, with overlapping and far-apart offsets.
func TestTapKernels(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 17))
		for _, taps := range []int{1, 2, 9, 12} {
			for _, n := range []int{1, 7, 8, 31, 32, 33, 56, 100, 210} {
				t.Run(fmt.Sprintf("taps%d/n%d", taps, n), func(t *testing.T) {
					src := make([]float32, n+300)
					for i := range src {
						src[i] = float32(r.NormFloat64())
					}
					offs, w := make([]int, taps), make([]float32, taps)
					for i := range offs {
						offs[i], w[i] = r.IntN(301), float32(r.NormFloat64())
					}
					dst := make([]float32, n)
					for i := range dst {
						dst[i] = float32(r.NormFloat64())
					}
					want := append([]float32(nil), dst...)
					f64 := make([]float64, n)
					for q := range f64 {
						f64[q] = float64(dst[q])
						for k, o := range offs {
							f64[q] += float64(w[k]) * float64(src[o+q])
						}
					}
					TapsF32(dst, src, offs, w)
					tapsF32Go(want, src, offs, w)
					require.Equal(t, want, dst)
					for q := range f64 {
						if !assert.InDelta(quietT{}, f64[q], float64(dst[q]), 1e-5*float64(taps+1)*(1+math.Abs(f64[q]))) {
							require.InDelta(t, f64[q], float64(dst[q]), 1e-5*float64(taps+1)*(1+math.Abs(f64[q])))
						}
					}

					// two calls continue the lanes
					lanes, wantL := make([]float32, 8*taps), make([]float32, 8*taps)
					TapsDotF32(dst, src, offs, lanes)
					TapsDotF32(dst[:n/2], src[1:], offs, lanes)
					tapsDotF32Go(dst, src, offs, wantL)
					tapsDotF32Go(dst[:n/2], src[1:], offs, wantL)
					require.Equal(t, wantL, lanes)
					for k, o := range offs {
						var s, abs float64
						for q, e := range dst {
							s += float64(e) * float64(src[o+q])
							abs += math.Abs(float64(e) * float64(src[o+q]))
						}
						for q, e := range dst[:n/2] {
							s += float64(e) * float64(src[1+o+q])
							abs += math.Abs(float64(e) * float64(src[1+o+q]))
						}
						if !assert.InDelta(quietT{}, s, float64(LaneSum8F32(lanes[8*k:])), 1e-6*float64(n)*(1+abs)) {
							require.InDelta(t, s, float64(LaneSum8F32(lanes[8*k:])), 1e-6*float64(n)*(1+abs))
						}
					}
				})
			}
		}
	})
}

// TestTapKernelsRefuseRunsOutside checks that a run past either end of the source
// panics before any assembly reads it.
func TestTapKernelsRefuseRunsOutside(t *testing.T) {
	src, dst := make([]float32, 20), make([]float32, 16)
	for _, offs := range [][]int{{-1}, {0, 5}, {5, 0}} {
		require.Panics(t, func() { TapsF32(dst, src, offs, []float32{1, 1}) }, "%v", offs)
		require.Panics(t, func() { TapsDotF32(dst, src, offs, make([]float32, 16)) }, "%v", offs)
	}
	require.Panics(t, func() { TapsF32(dst, src, []int{0, 1}, []float32{1}) })
	require.NotPanics(t, func() { TapsF32(dst, src, []int{0, 4}, []float32{1, 2}) })
}
