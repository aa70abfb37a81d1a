package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmRowsResidualInPlace checks that SgemmRowsAct given the residual
// as C itself stores exactly what it stores with the residual in a buffer
// of its own, on every path: whole and partial row tiles and panels, a
// one-row tail (m = 6q + 1), a single row, row tiles gathered because x ends
// with the last row, clamp and SiLU, 1-3 threads. A reduction of more than
// one block must be refused.
func TestSgemmRowsResidualInPlace(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{1, 64, 40}, {6, 16, 9}, {7, 33, 65}, {49, 64, 100}, {49, 512, 64}, {61, 48, 255}, {100, 20, 7}, {13, 256, 256}, {25, 144, 17}, {300, 128, 32},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(61, 62))
		for _, sh := range shapes {
			for variant := 0; variant < 4; variant++ {
				m, n, k := sh.m, sh.n, sh.k
				lda := k + r.IntN(4)
				size := (m-1)*lda + k
				if variant&1 != 0 {
					size += 6 * lda
				}
				off := make([]int32, k)
				for p := range off {
					off[p] = int32(p)
				}
				x := randF32(r, size)
				pb := PackRowsB(k, n, randF32(r, k*n), n)
				if !assert.True(quietT{}, SgemmRowsResidualInPlace(pb)) {
					require.True(t, SgemmRowsResidualInPlace(pb))
				}
				ldc := n + r.IntN(3)
				bias := randF32(r, n)
				res := randF32(r, (m-1)*ldc+n)
				act := ActNone
				if variant&2 != 0 {
					act = ActSiLU
				}
				th := 1 + r.IntN(3)
				want := append([]float32(nil), res...) // the columns past n of each row are left alone
				SgemmRowsAct(pb, x, lda, off, m, bias, want, ldc, res, true, -0.5, 2, act, th)
				got := append([]float32(nil), res...)
				SgemmRowsAct(pb, x, lda, off, m, bias, got, ldc, got, true, -0.5, 2, act, th)
				if !assert.Equal(quietT{}, want, got) {
					require.Equal(t, want, got, "%v variant=%d threads=%d", sh, variant, th)
				}
			}
		}
		pb := PackRowsB(1100, 64, randF32(r, 1100*64), 64)
		require.False(t, SgemmRowsResidualInPlace(pb))
		x := randF32(r, 12*1100)
		off := make([]int32, 1100)
		for p := range off {
			off[p] = int32(p)
		}
		c := randF32(r, 6*64)
		require.Panics(t, func() { SgemmRowsAct(pb, x, 1100, off, 6, nil, c, 64, c, false, 0, 0, ActNone, 1) })
	})
}
