package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaxF32MatchesGoMax(t *testing.T) {
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), -1, 1}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(47, 48))
		for n := 0; n <= 41; n++ {
			dst, src := make([]float32, n), make([]float32, n+r.IntN(3))
			for _, s := range [][]float32{dst, src} {
				for i := range s {
					if r.IntN(4) == 0 {
						s[i] = special[r.IntN(len(special))]
					} else {
						s[i] = r.Float32()*4 - 2
					}
				}
			}
			want := make([]float32, n)
			for i := range want {
				want[i] = max(dst[i], src[i])
			}
			MaxF32(dst, src)
			for i := range want {
				if math.IsNaN(float64(want[i])) {
					if !assert.True(quietT{}, math.IsNaN(float64(dst[i]))) {
						require.True(t, math.IsNaN(float64(dst[i])), "n=%d i=%d: want NaN, got %v", n, i, dst[i])
					}
					continue
				}
				if !assert.Equal(quietT{}, want[i] == 0, dst[i] == 0) {
					require.Equal(t, want[i] == 0, dst[i] == 0, "n=%d i=%d", n, i)
				}
				if want[i] != 0 {
					if !assert.Equal(quietT{}, want[i], dst[i]) {
						require.Equal(t, want[i], dst[i], "n=%d i=%d", n, i)
					}
				}
			}
		}
	})
	require.Panics(t, func() { MaxF32(make([]float32, 4), make([]float32, 3)) })
}
