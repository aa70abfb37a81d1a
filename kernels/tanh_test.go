package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tanhMaxRel is the stated error bound of TanhF32 against float64 math.Tanh,
// relative to the result: 4e-7 (the rational approximation in float32 with
// FMAs measures 3.2e-7 at most, near |x| = 5.5 and at the clamp, where it
// gives 0.9999997 for 1: about 5 ulp of float32 just below 1; near 0 it is
// 1.3e-7, alpha_1/beta_0 rounded to float32). TestTanhF32 checks it on every
// path and logs the largest errors seen.
const tanhMaxRel = 4e-7

// TestTanhF32 checks the vector tanh against float64 math.Tanh over the range
// that matters (with the saturated ends, zero, tiny values, subnormals, NaN,
// ±Inf and the clamp boundary), in place and out of place, at lengths that
// leave a scalar tail, on every dispatch path.
func TestTanhF32(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	src := []float32{0, float32(math.Copysign(0, -1)), 1e-30, 1e-40, -1e-7, 1e-3, 0.4999999, 0.5, -0.5, 1, -3,
		7.905311, -7.905311, 7.9053116, 9, -9, 20, -40, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1))}
	for i := 0; i < 5000; i++ {
		src = append(src, float32(rng.NormFloat64()*2), float32(rng.NormFloat64()*0.05),
			float32(rng.Float64()*20-10), float32(math.Ldexp(rng.Float64(), -rng.Intn(40))))
	}
	src = append(src, 0.25, -0.125, 7) // a tail that is not a multiple of the vector width
	forEachPath(t, func(t *testing.T) {
		for _, inPlace := range []bool{false, true} {
			dst := make([]float32, len(src))
			in := append([]float32(nil), src...)
			if inPlace {
				dst = in
			}
			TanhF32(dst, in)
			var maxAbs, maxRel float64
			for i, x := range src {
				want := math.Tanh(float64(x))
				got := float64(dst[i])
				e := math.Abs(got - want)
				maxAbs = max(maxAbs, e)
				if want != 0 {
					maxRel = max(maxRel, e/math.Abs(want))
				}
				if !assert.LessOrEqual(quietT{}, e, tanhMaxRel*math.Abs(want)+1e-45) {
					require.LessOrEqualf(t, e, tanhMaxRel*math.Abs(want)+1e-45,
						"tanh(%g) = %g, want %g", x, got, want)
				}
				if !assert.LessOrEqual(quietT{}, math.Abs(got), 1.0) {
					require.LessOrEqual(t, math.Abs(got), 1.0, "tanh(%g) = %g", x, got)
				}
				if !assert.Equal(quietT{}, math.Signbit(float64(x)), math.Signbit(got)) {
					require.Equal(t, math.Signbit(float64(x)), math.Signbit(got), "tanh(%g) = %g", x, got)
				}
			}
			t.Logf("in place %v: max abs error %.3g, max relative error %.3g", inPlace, maxAbs, maxRel)
		}
		nan := []float32{float32(math.NaN()), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, float32(math.NaN())}
		TanhF32(nan, nan)
		require.True(t, math.IsNaN(float64(nan[0])))
		require.True(t, math.IsNaN(float64(nan[15])))
	})
}

// TestActTanh checks that ActF32(ActTanh) is TanhF32 (the conv epilogue and
// the standalone operator give the same bits).
func TestActTanh(t *testing.T) {
	src := make([]float32, 1000)
	rng := rand.New(rand.NewSource(2))
	for i := range src {
		src[i] = float32(rng.NormFloat64() * 3)
	}
	a, b := make([]float32, len(src)), make([]float32, len(src))
	TanhF32(a, src)
	ActF32(ActTanh, b, src)
	require.Equal(t, a, b)
	require.Equal(t, "tanh", ActTanh.String())
}
