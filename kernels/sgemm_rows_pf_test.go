package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRowsTilesPfMatchesRowsTiles checks the prefetching row tiles against
// the plain ones bit for bit on every path and panel width: C from the bias
// or accumulated, with and without a residual, clamped, any number of tiles,
// and prefetch counts of none, some, and more than pf holds (clamped).
func TestRowsTilesPfMatchesRowsTiles(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 50))
		for _, nr := range []int{16, 32, 48, 64} {
			if nr != sgNR && !f32Wide && f32Path != isaGo {
				continue // wide panels are packed only where the zmm kernels run
			}
			for _, k := range []int{1, 3, 4, 9, 64, 130} {
				for variant := 0; variant < 8; variant++ {
					accum, withRes, withBias := variant&1 != 0, variant&2 != 0, variant&4 != 0
					nt := 1 + r.IntN(4)
					lda := k + r.IntN(5)
					ldc := nr + 16*r.IntN(2)
					x := randF32(r, nt*sgMR*lda+k)
					off := make([]int32, k)
					for p := range off {
						off[p] = int32(r.IntN(lda))
					}
					b := randF32(r, k*nr)
					c0 := randF32(r, nt*sgMR*ldc)
					var bias, res []float32
					if withBias {
						bias = randF32(r, nr)
					}
					if withRes {
						res = randF32(r, len(c0))
					}
					pf := randF32(r, 64*(1+r.IntN(8)))
					want := append([]float32(nil), c0...)
					rowsTiles(nt, nr, k, x, lda, off, b, bias, want, ldc, accum, res, -0.5, 2)
					for _, pfn := range []int{0, 1, len(pf) / 64, 1000} {
						got := append([]float32(nil), c0...)
						rowsTilesPf(nt, nr, k, x, lda, off, b, bias, got, ldc, accum, res, -0.5, 2, pf, pfn)
						if !assert.Equal(quietT{}, want, got) {
							require.Equal(t, want, got, "nr=%d k=%d variant=%d tiles=%d pfn=%d", nr, k, variant, nt, pfn)
						}
					}
				}
			}
		}
	})
}

// TestSgemmRowsLargeWeightsVsReference is TestSgemmRowsVsReference on
// weights of 1 MB or more, whose row tiles prefetch the next weight block:
// several reduction blocks and panels, a one-row tail (49 rows), 1 and 2
// threads, every path.
func TestSgemmRowsLargeWeightsVsReference(t *testing.T) {
	shapes := []struct{ m, n, k int }{{49, 512, 600}, {13, 256, 1100}, {20, 96, 2800}}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 51))
		for _, sh := range shapes {
			for variant := 0; variant < 4; variant++ {
				m, n, k := sh.m, sh.n, sh.k
				withRes, clip := variant&1 != 0, variant&2 != 0
				lda := k + 3
				off := make([]int32, k)
				for p := range off {
					off[p] = int32(p)
				}
				x := randF32(r, (m+6)*lda)
				w := randF32(r, k*n)
				pb := PackRowsB(k, n, w, n)
				if !assert.GreaterOrEqual(quietT{}, pb.DataLen(), idxPrefetchFloats) {
					require.GreaterOrEqual(t, pb.DataLen(), idxPrefetchFloats)
				}
				c := randF32(r, m*n)
				bias := randF32(r, n)
				var res []float32
				if withRes {
					res = randF32(r, m*n)
				}
				lo, hi := float32(-0.5), float32(3)
				th := 1 + variant%2
				SgemmRows(pb, x, lda, off, m, bias, c, n, res, clip, lo, hi, th)
				want := make([]float64, m*n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						s := float64(bias[j])
						for p := 0; p < k; p++ {
							s += float64(x[i*lda+p]) * float64(w[p*n+j])
						}
						if withRes {
							s += float64(res[i*n+j])
						}
						if clip {
							s = min(max(s, float64(lo)), float64(hi))
						}
						want[i*n+j] = s
					}
				}
				checkClose(t, want, c, m, n, k, n, fmt.Sprintf("%v variant=%d threads=%d", sh, variant, th))
			}
		}
	})
}
