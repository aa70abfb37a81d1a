package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBNKernels checks the batch-normalization passes on every path: bit for bit
// against the Go lane reference (several calls continuing the same lanes, at
// lengths around the vector blocks), and against a plain sequential float64
// reference within rounding.
func TestBNKernels(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 12))
		for _, lens := range [][]int{{1}, {7}, {8}, {9, 3}, {16, 16}, {49, 49, 49}, {196, 5}, {784, 1000}} {
			t.Run(fmt.Sprint(lens), func(t *testing.T) {
				rnd := func(n int, sd float64) []float32 {
					x := make([]float32, n)
					for i := range x {
						x[i] = float32(r.NormFloat64() * sd)
					}
					return x
				}
				s, b := float32(0.7+r.Float64()), float32(r.NormFloat64())
				var got, want BNLanes
				var sum, sq float64
				for _, n := range lens {
					c := rnd(n, 3)
					u, uw := make([]float32, n), make([]float32, n)
					BNStatsF32(c, u, s, b, &got)
					bnStatsF32Go(c, uw, s, b, &want)
					if !assert.Equal(quietT{}, uw, u) {
						require.Equal(t, uw, u)
					}
					for i := range c {
						x := float64(c[i]/s + b)
						if !assert.Equal(quietT{}, float32(x), u[i]) {
							require.Equal(t, float32(x), u[i])
						}
						sum += x
						sq += x * x
					}
				}
				require.Equal(t, want, got)
				require.InDelta(t, sum, got.Sum1(), 1e-9*(1+math.Abs(sum)))
				require.InDelta(t, sq, got.Sum2(), 1e-9*(1+sq))

				got, want = BNLanes{}, BNLanes{}
				var sdy, sdyx, se, sec float64
				for _, n := range lens {
					d, xh, c := rnd(n, 1), rnd(n, 1), rnd(n, 2)
					BNGradSumsF32(d, xh, &got)
					bnGradSumsF32Go(d, xh, &want)
					for i := range d {
						sdy += float64(d[i])
						sdyx += float64(d[i] * xh[i])
					}
					k, a1, a2 := float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())
					var gi, wi BNLanes
					dc, dcw := make([]float32, n), make([]float32, n)
					BNGradInputF32(d, xh, c, dc, k, a1, a2, s, &gi)
					bnGradInputF32Go(d, xh, c, dcw, k, a1, a2, s, &wi)
					if !assert.Equal(quietT{}, dcw, dc) {
						require.Equal(t, dcw, dc)
					}
					if !assert.Equal(quietT{}, wi, gi) {
						require.Equal(t, wi, gi)
					}
					se, sec = 0, 0
					for i := range d {
						e := k * ((d[i] - a1) - float32(xh[i]*a2))
						if !assert.Equal(quietT{}, e/s, dc[i]) {
							require.Equal(t, e/s, dc[i])
						}
						se += float64(e)
						sec += float64(e * c[i])
					}
					if !assert.InDelta(quietT{}, se, gi.Sum1(), 1e-9*(1+math.Abs(se))) {
						require.InDelta(t, se, gi.Sum1(), 1e-9*(1+math.Abs(se)))
					}
					if !assert.InDelta(quietT{}, sec, gi.Sum2(), 1e-9*(1+math.Abs(sec))) {
						require.InDelta(t, sec, gi.Sum2(), 1e-9*(1+math.Abs(sec)))
					}

					u := rnd(n, 2)
					uw := append([]float32(nil), u...)
					y, yw := make([]float32, n), make([]float32, n)
					BNNormF32(u, y, a1, 1.5, k, b)
					bnNormF32Go(uw, yw, a1, 1.5, k, b)
					if !assert.Equal(quietT{}, uw, u) {
						require.Equal(t, uw, u)
					}
					if !assert.Equal(quietT{}, yw, y) {
						require.Equal(t, yw, y)
					}
				}
				require.Equal(t, want, got)
				require.InDelta(t, sdy, got.Sum1(), 1e-9*(1+math.Abs(sdy)))
				require.InDelta(t, sdyx, got.Sum2(), 1e-9*(1+math.Abs(sdyx)))
			})
		}
	})
}
