package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFakeQuantSlice checks the vectorised fake quantization against fakeQuant,
// value for value (fakeQuant rounds small negatives to -0, DequantizeLinear, as the
// runtime, to +0; the two compare equal and add alike to any nonzero sum), on values that round half-way, saturate, and are not finite, over
// lengths that leave tails to the scalar code and span several int8 buffers.
func TestFakeQuantSlice(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, tc := range []struct {
		scale float32
		zp    int
	}{{0.02, 0}, {0.05, -128}, {0.013, 17}, {1, 127}} {
		for _, n := range []int{1, 7, 33, 2048, 5000} {
			x := make([]float32, n)
			for i := range x {
				switch i % 7 {
				case 0:
					x[i] = (float32(rng.Intn(600)-300) + 0.5) * tc.scale // half-way
				case 1:
					x[i] = float32(rng.NormFloat64()) * 100 * tc.scale // saturates
				default:
					x[i] = float32(rng.NormFloat64()) * 40 * tc.scale
				}
			}
			if n > 4 {
				x[1], x[2], x[3] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
			}
			y := make([]float32, n)
			fakeQuantSlice(x, y, tc.scale, tc.zp)
			for i, v := range x {
				require.True(t, fakeQuant(v, tc.scale, tc.zp) == y[i], "scale %g zp %d x[%d]=%g", tc.scale, tc.zp, i, v)
			}
		}
	}
}
