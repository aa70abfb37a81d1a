package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAddSqDevPixelsF64VsReference checks the per-channel sums of squared
// deviations against a float64 reference on every path: channel counts
// around the 16-lane blocks and the 1024-channel chunks, pixel counts
// around the four-pixel steps and the 256-pixel blocks, padded strides.
func TestAddSqDevPixelsF64VsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, c := range []int{1, 15, 16, 17, 32, 40, 64, 1100} {
			for _, n := range []int{1, 3, 4, 5, 255, 256, 257, 1000} {
				stride := c + r.IntN(3)
				x := randF32(r, (n-1)*stride+c)
				mu := randF32(r, c)
				acc := make([]float64, c)
				for i := range acc {
					acc[i] = 0.25
				}
				AddSqDevPixelsF64(acc, x, mu, n, stride)
				for ch := 0; ch < c; ch++ {
					want := 0.25
					for p := 0; p < n; p++ {
						d := float64(x[p*stride+ch]) - float64(mu[ch])
						want += d * d
					}
					if !assert.InDelta(quietT{}, want, acc[ch], 2e-6*want+1e-6) {
						require.InDelta(t, want, acc[ch], 2e-6*want+1e-6, "c=%d n=%d channel %d", c, n, ch)
					}
				}
			}
		}
	})
}

func TestAddSqDevPixelsF64Arguments(t *testing.T) {
	tests := []struct {
		name      string
		c, n, str int
		xLen      int
		muLen     int
		panics    bool
	}{
		{"no pixels", 4, 0, 4, 0, 4, false},
		{"stride below channels", 4, 2, 3, 8, 4, true},
		{"x too short", 4, 2, 4, 7, 4, true},
		{"mu too short", 4, 2, 4, 8, 3, true},
		{"fits", 4, 2, 5, 9, 4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := func() {
				AddSqDevPixelsF64(make([]float64, tc.c), make([]float32, tc.xLen), make([]float32, tc.muLen), tc.n, tc.str)
			}
			if tc.panics {
				assert.Panics(t, f)
			} else {
				assert.NotPanics(t, f)
			}
		})
	}
}
