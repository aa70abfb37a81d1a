package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemvRowsVsReference checks the one-row case of SgemmRows (the
// classifier-head and squeeze-excite GEMV) against a float64 reference, on
// every path, for 64-wide and 16-wide panels with partial last panels, bias,
// residual, clamp, activation and 1-3 threads; and that it is bit-identical
// to the six-row tile path (the same row computed as row 0 of two identical
// rows, lda = 0).
func TestSgemvRowsVsReference(t *testing.T) {
	shapes := []struct{ n, k int }{
		{1, 1}, {16, 0}, {16, 7}, {24, 33}, {64, 5}, {70, 100}, {128, 300}, {200, 64}, {1000, 1280}, {320, 960}, {1152, 48}, {48, 1152},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(51, 52))
		for _, sh := range shapes {
			for variant := 0; variant < 16; variant++ {
				withBias, withRes, clip, act := rowsVariant(variant)
				n, k := sh.n, sh.k
				off := make([]int32, k)
				span := 2*k + 3
				for p := range off {
					off[p] = int32(r.IntN(span))
				}
				x := randF32(r, span)
				w := randF32(r, k*n)
				pb := PackRowsB(k, n, w, n)
				var bias, res []float32
				if withBias {
					bias = randF32(r, n)
				}
				if withRes {
					res = randF32(r, n)
				}
				lo, hi := float32(-0.5), float32(3)
				th := 1 + r.IntN(3)
				c := randF32(r, n)
				SgemmRowsAct(pb, x, len(x), off, 1, bias, c, n, res, clip, lo, hi, act, th)
				want := make([]float64, n)
				for j := range want {
					var s float64
					if withBias {
						s = float64(bias[j])
					}
					for p := 0; p < k; p++ {
						s += float64(x[off[p]]) * float64(w[p*n+j])
					}
					if withRes {
						s += float64(res[j])
					}
					if clip {
						s = min(max(s, float64(lo)), float64(hi))
					}
					want[j] = refAct(act, s)
				}
				msg := fmt.Sprintf("n=%d k=%d variant=%d threads=%d", n, k, variant, th)
				checkClose(t, want, c, 1, n, k, n, msg)
				// The tile path on two copies of the row.
				c2 := make([]float32, 2*n)
				var res2 []float32
				if withRes {
					res2 = append(append([]float32{}, res...), res...)
				}
				SgemmRowsAct(pb, x, 0, off, 2, bias, c2, n, res2, clip, lo, hi, act, th)
				if !assert.Equal(quietT{}, c2[:n], c) {
					require.Equal(t, c2[:n], c, msg)
				}
			}
		}
	})
}
