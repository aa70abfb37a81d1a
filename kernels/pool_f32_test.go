package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// poolPixelsRef is the definition: output pixel i, channel k, is the max (or
// the float64 sum times scale) of src[i·ps + a·hs + b·ws + k] over the
// window's kh×kw taps.
func poolPixelsRef(isMax bool, c, kh, kw, hs, ws, ps, n int, src []float32, scale float32) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, c)
		for k := 0; k < c; k++ {
			acc := math.Inf(-1)
			if !isMax {
				acc = 0
			}
			for a := 0; a < kh; a++ {
				for b := 0; b < kw; b++ {
					v := float64(src[i*ps+a*hs+b*ws+k])
					switch {
					case !isMax:
						acc += v
					case math.IsNaN(v) || math.IsNaN(acc):
						acc = math.NaN()
					default:
						acc = math.Max(acc, v)
					}
				}
			}
			if !isMax {
				acc *= float64(scale)
			}
			out[i][k] = acc
		}
	}
	return out
}

// TestPoolPixelsF32VsReference runs MaxPoolPixelsF32 and AvgPoolPixelsF32
// on random windows against the definition on every dispatch path: channel
// counts that exercise each run of the vector kernels (64, 32, 16 and the
// masked tail, 8 and its tail on AVX2), windows of 1x1 to 4x5 with strides
// and dilations (any tap strides: the caller's padding, ceil mode and
// border windows become smaller windows), output strides wider than the
// channels (a Concat's buffer) whose other floats must stay untouched, NaNs
// and signed zeros. The max is exact; the average is a float32 sum within
// a few ulps of the float64 one, and the same bits on every path.
func TestPoolPixelsF32VsReference(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	type tcase struct {
		c, kh, kw, hs, ws, ps, ds, n int
		nan                          bool
	}
	var cases []tcase
	for _, c := range []int{1, 3, 8, 13, 16, 24, 31, 32, 40, 48, 64, 72, 96, 120, 127, 192, 200} {
		kh, kw := 1+rng.Intn(4), 1+rng.Intn(5)
		cs := c + rng.Intn(3)*8
		ws := cs * (1 + rng.Intn(2))
		hs := ws*(kw+rng.Intn(4)) + rng.Intn(2)*cs
		ps := cs * (1 + rng.Intn(3))
		cases = append(cases, tcase{c, kh, kw, hs, ws, ps, c + rng.Intn(2)*16, 1 + rng.Intn(9), c%3 == 0})
	}
	cases = append(cases, tcase{64, 3, 3, 64 * 20, 64, 128, 64, 9, false}) // a 3x3 stride-2 stem pool row
	ref := map[int][]float32{}
	forEachPath(t, func(t *testing.T) {
		for ci, tc := range cases {
			src := make([]float32, (tc.n-1)*tc.ps+(tc.kh-1)*tc.hs+(tc.kw-1)*tc.ws+tc.c)
			r := rand.New(rand.NewSource(int64(ci)))
			for i := range src {
				src[i] = float32(r.NormFloat64())
				if i%11 == 0 {
					src[i] = float32(math.Copysign(0, r.NormFloat64()))
				}
			}
			if tc.nan {
				src[r.Intn(len(src))] = float32(math.NaN())
			}
			scale := 1 / float32(tc.kh*tc.kw+ci%3)
			for _, isMax := range []bool{true, false} {
				const guard = -12345
				dst := make([]float32, (tc.n-1)*tc.ds+tc.c+16)
				for i := range dst {
					dst[i] = guard
				}
				if isMax {
					MaxPoolPixelsF32(dst, tc.ds, src, tc.c, tc.kh, tc.kw, tc.hs, tc.ws, tc.ps, tc.n)
				} else {
					AvgPoolPixelsF32(dst, tc.ds, src, tc.c, tc.kh, tc.kw, tc.hs, tc.ws, tc.ps, tc.n, scale)
				}
				want := poolPixelsRef(isMax, tc.c, tc.kh, tc.kw, tc.hs, tc.ws, tc.ps, tc.n, src, scale)
				for i := 0; i < tc.n; i++ {
					for k := 0; k < tc.ds && i*tc.ds+k < len(dst); k++ {
						got := dst[i*tc.ds+k]
						if k >= tc.c {
							if !assert.Equal(quietT{}, float32(guard), got) {
								require.Equal(t, float32(guard), got, "case %d pixel %d: float %d past the channels written", ci, i, k)
							}
							continue
						}
						w := want[i][k]
						switch {
						case math.IsNaN(w):
							if !assert.True(quietT{}, math.IsNaN(float64(got))) {
								require.True(t, math.IsNaN(float64(got)), "case %d max=%v pixel %d channel %d: want NaN, got %v", ci, isMax, i, k, got)
							}
						case isMax:
							if !assert.Equal(quietT{}, float32(w), got) {
								require.Equal(t, float32(w), got, "case %d pixel %d channel %d", ci, i, k)
							}
						default:
							if !assert.InDelta(quietT{}, w, float64(got), 1e-5*(1+math.Abs(w))) {
								require.InDelta(t, w, float64(got), 1e-5*(1+math.Abs(w)), "case %d pixel %d channel %d", ci, i, k)
							}
						}
					}
				}
				if !assert.Equal(quietT{}, float32(guard), dst[len(dst)-1]) {
					require.Equal(t, float32(guard), dst[len(dst)-1], "case %d: float past the last pixel written", ci)
				}
				if !isMax {
					// The average's bits are the same on every path.
					if r, ok := ref[ci]; ok {
						for i, v := range r {
							if !math.IsNaN(float64(v)) {
								if !assert.Equal(quietT{}, v, dst[i]) {
									require.Equal(t, v, dst[i], "case %d: average differs between paths at %d", ci, i)
								}
							}
						}
					} else {
						ref[ci] = append([]float32(nil), dst...)
					}
				}
			}
		}
	})
}

// TestAffineRowsF32VsReference checks AffineRowsF32 (the pixel-major
// AVX-512 kernel, the depthwise-row path and Go) against the definition,
// clamp(a·x + b, lo, hi) per channel, on every path: channel counts around
// the 64- and 16-lane runs, strides wider than the channels (untouched
// floats between pixels), a NaN input.
func TestAffineRowsF32VsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, c := range []int{1, 7, 16, 17, 48, 64, 80, 100, 130, 256} {
			r := rand.New(rand.NewSource(int64(c)))
			n, sx, sy := 1+r.Intn(7), c+r.Intn(3)*16, c+r.Intn(2)*16+1
			x := make([]float32, n*sx)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			x[r.Intn(len(x))] = float32(math.NaN())
			a, b := make([]float32, c), make([]float32, c)
			for i := range a {
				a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			}
			const guard = 777
			y := make([]float32, n*sy)
			for i := range y {
				y[i] = guard
			}
			lo, hi := float32(0), float32(1.5)
			AffineRowsF32(x, sx, n, c, a, b, y, sy, lo, hi)
			for p := 0; p < n; p++ {
				for k := 0; k < sy; k++ {
					got := y[p*sy+k]
					if k >= c {
						if !assert.Equal(quietT{}, float32(guard), got) {
							require.Equal(t, float32(guard), got, "c %d pixel %d float %d", c, p, k)
						}
						continue
					}
					v := float64(x[p*sx+k])
					if math.IsNaN(v) {
						continue // NaN or a bound: the paths differ
					}
					want := math.Min(math.Max(float64(a[k])*v+float64(b[k]), float64(lo)), float64(hi))
					if !assert.InDelta(quietT{}, want, float64(got), 1e-6*(1+math.Abs(want))) {
						require.InDelta(t, want, float64(got), 1e-6*(1+math.Abs(want)), "c %d pixel %d channel %d", c, p, k)
					}
				}
			}
		}
	})
}
