package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBlend2F32 checks the two-tap blend against its float64 definition on
// every path: channel counts around the vector widths (the vector part and
// the Go tail), an output pixel stride wider than c, a whole-row blend (n =
// 1), repeated and equal taps, weights 0 and 1.
func TestBlend2F32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, tc := range []struct{ n, c, ostride, srcPix int }{
			{1, 1, 1, 2}, {5, 3, 3, 4}, {7, 16, 16, 4}, {9, 32, 48, 6}, {3, 8, 8, 5}, {4, 27, 32, 9},
			{128, 32, 32, 64}, {1, 4096, 4096, 2}, {1, 4099, 4099, 3}, {6, 70, 80, 3}, {2, 64, 64, 2},
		} {
			t.Run(fmt.Sprintf("n%d c%d ostride%d", tc.n, tc.c, tc.ostride), func(t *testing.T) {
				src := randF32(r, tc.srcPix*tc.c)
				off := make([]int64, 2*tc.n)
				w := make([]float32, 2*tc.n)
				for p := 0; p < tc.n; p++ {
					off[2*p] = int64(r.IntN(tc.srcPix) * tc.c)
					off[2*p+1] = int64(r.IntN(tc.srcPix) * tc.c)
					a := r.Float32()
					switch p % 4 {
					case 1:
						a = 1
					case 2:
						a = 0
					}
					w[2*p], w[2*p+1] = a, 1-a
				}
				if tc.n > 3 {
					off[3] = off[2] // equal taps
				}
				dst := make([]float32, (tc.n-1)*tc.ostride+tc.c+5)
				for i := range dst {
					dst[i] = -7
				}
				Blend2F32(dst, tc.ostride, src, off, w, tc.n, tc.c)
				for p := 0; p < tc.n; p++ {
					for i := 0; i < tc.c; i++ {
						a, b := float64(src[int(off[2*p])+i]), float64(src[int(off[2*p+1])+i])
						want := float64(w[2*p])*a + float64(w[2*p+1])*b
						got := dst[p*tc.ostride+i]
						if !assert.InDelta(quietT{}, want, float64(got), 2e-7*(math.Abs(a)+math.Abs(b))) {
							require.InDelta(t, want, float64(got), 2e-7*(math.Abs(a)+math.Abs(b)), "pixel %d channel %d", p, i)
						}
						if w[2*p] == 1 && w[2*p+1] == 0 {
							if !assert.Equal(quietT{}, src[int(off[2*p])+i], got) {
								require.Equal(t, src[int(off[2*p])+i], got, "weight 1 copies")
							}
						}
					}
					for i := tc.c; i < tc.ostride && p*tc.ostride+i < len(dst); i++ {
						if !assert.Equal(quietT{}, float32(-7), dst[p*tc.ostride+i]) {
							require.Equal(t, float32(-7), dst[p*tc.ostride+i], "stride padding untouched")
						}
					}
				}
				for i := (tc.n-1)*tc.ostride + tc.c; i < len(dst); i++ {
					if !assert.Equal(quietT{}, float32(-7), dst[i]) {
						require.Equal(t, float32(-7), dst[i], "past the last pixel")
					}
				}
			})
		}
	})
}
