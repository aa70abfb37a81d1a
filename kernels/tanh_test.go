package kernels

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTanhF32 checks the vector tanh against float64 math.Tanh over the range
// that matters (with the saturated ends, zero, tiny values, NaN and the
// boundaries of the Taylor branch), in place and out of place, at lengths that
// leave a scalar tail.
func TestTanhF32(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	src := []float32{0, -0, 1e-30, -1e-7, 1e-3, 0.4999999, 0.5, -0.5, 0.5000001, 1, -3, 9, -9, 20, -40,
		float32(math.Inf(1)), float32(math.Inf(-1))}
	for i := 0; i < 5000; i++ {
		src = append(src, float32(rng.NormFloat64()*2), float32(rng.NormFloat64()*0.05),
			float32(rng.Float64()*20-10))
	}
	src = append(src, 0.25, -0.125, 7) // a tail that is not a multiple of the vector width
	for _, inPlace := range []bool{false, true} {
		dst := make([]float32, len(src))
		in := append([]float32(nil), src...)
		if inPlace {
			dst = in
		}
		TanhF32(dst, in)
		for i, x := range src {
			want := math.Tanh(float64(x))
			got := float64(dst[i])
			require.LessOrEqualf(t, math.Abs(got-want), 1e-6*math.Abs(want)+1e-30,
				"tanh(%g) = %g, want %g", x, got, want)
		}
	}
	nan := []float32{float32(math.NaN())}
	TanhF32(nan, nan)
	require.True(t, math.IsNaN(float64(nan[0])))
}
