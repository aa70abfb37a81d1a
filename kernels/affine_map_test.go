package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAffineMapVsReference checks AffineMapU8/I8/F32 on every path against
// float64 x·a + b rounded once to float32, for lengths around the vector
// blocks (0-300), every byte value, and float inputs with ±Inf, NaN, ±0 and
// subnormals: each result must be the correctly rounded value or one ulp from
// it (the scalar tail's double rounding), NaN where the reference is NaN.
func TestAffineMapVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(81, 82))
		check := func(x []float64, got []float32, a, b float32, what string) {
			t.Helper()
			for i, v := range x {
				want := float32(v*float64(a) + float64(b))
				g := got[i]
				if math.IsNaN(float64(want)) {
					if !assert.True(quietT{}, math.IsNaN(float64(g))) {
						require.True(t, math.IsNaN(float64(g)), "%s [%d] of %d: want NaN, got %v", what, i, len(x), g)
					}
					continue
				}
				if g == want {
					continue
				}
				if !assert.InDelta(quietT{}, float64(want), float64(g), ulp32(want)) {
					require.InDelta(t, float64(want), float64(g), ulp32(want), "%s [%d] of %d (x=%v a=%v b=%v)", what, i, len(x), v, a, b)
				}
			}
		}
		for _, n := range []int{0, 1, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 200, 256, 300} {
			a, b := r.Float32()*0.1-0.05, r.Float32()*4-2
			u := make([]uint8, n)
			s := make([]int8, n)
			f := make([]float32, n)
			xu, xs, xf := make([]float64, n), make([]float64, n), make([]float64, n)
			special := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0, float32(math.Copysign(0, -1)), 1e-40, -3e-39, 1e30}
			for i := range u {
				u[i], s[i] = uint8(i*37+r.IntN(256)), int8(r.IntN(256)-128)
				f[i] = r.Float32()*200 - 100
				if r.IntN(8) == 0 {
					f[i] = special[r.IntN(len(special))]
				}
				xu[i], xs[i], xf[i] = float64(u[i]), float64(s[i]), float64(f[i])
			}
			got := make([]float32, n)
			AffineMapU8(got, u, a, b)
			check(xu, got, a, b, "u8")
			AffineMapI8(got, s, a, b)
			check(xs, got, a, b, "i8")
			AffineMapF32(got, f, a, b)
			check(xf, got, a, b, "f32")
			in := append([]float32(nil), f...)
			AffineMapF32(in, in, a, b) // in place
			for i := range in {
				if !assert.Equal(quietT{}, math.Float32bits(got[i]), math.Float32bits(in[i])) {
					require.Equal(t, math.Float32bits(got[i]), math.Float32bits(in[i]), "in place [%d]", i)
				}
			}
		}
		// every byte value through the vector and the tail
		u := make([]uint8, 256+7)
		x := make([]float64, len(u))
		for i := range u {
			u[i] = uint8(i)
			x[i] = float64(u[i])
		}
		got := make([]float32, len(u))
		AffineMapU8(got, u, 1/(255*0.229), -0.485/0.229)
		check(x, got, 1/(255*0.229), -0.485/0.229, "u8 all bytes")
	})
}

// ulp32 is the spacing of float32 values at v.
func ulp32(v float32) float64 {
	a := math.Abs(float64(v))
	if math.IsInf(a, 0) {
		return 0
	}
	return float64(math.Nextafter32(float32(a), float32(math.Inf(1)))) - a
}
