package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmRowsTailRowMatchesTiles checks the one-row tail of SgemmRows (m
// = 6t+1 rows: the last row runs as a one-row product on each block of
// weights) against the tile path: the same rows computed with one more row
// after them (m+1 rows, no tail) agree bit for bit on the first m, over
// several reduction blocks, 64- and 16-wide panels with a partial last one,
// every epilogue variant and 1-3 threads.
func TestSgemmRowsTailRowMatchesTiles(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{7, 64, 5}, {13, 48, 600}, {13, 160, 70}, {49, 128, 1100}, {49, 200, 300}, {25, 16, 0}, {31, 64, 513},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(53, 54))
		for _, sh := range shapes {
			for variant := 0; variant < 16; variant++ {
				withBias, withRes, clip, act := rowsVariant(variant)
				m, n, k := sh.m, sh.n, sh.k
				lda := k + r.IntN(3)
				off := make([]int32, k)
				for p := range off {
					off[p] = int32(p)
				}
				x := randF32(r, (m+1)*lda+1)
				pb := PackRowsB(k, n, randF32(r, k*n), n)
				ldc := n + r.IntN(3)
				var bias, res []float32
				if withBias {
					bias = randF32(r, n)
				}
				if withRes {
					res = randF32(r, (m+1)*ldc)
				}
				lo, hi := float32(-0.5), float32(3)
				th := 1 + r.IntN(3)
				got := make([]float32, (m+1)*ldc)
				want := make([]float32, (m+1)*ldc)
				SgemmRowsAct(pb, x, lda, off, m, bias, got, ldc, res, clip, lo, hi, act, th)
				SgemmRowsAct(pb, x, lda, off, m+1, bias, want, ldc, res, clip, lo, hi, act, th)
				msg := fmt.Sprintf("%v variant=%d threads=%d", sh, variant, th)
				for i := 0; i < m; i++ {
					if !assert.Equal(quietT{}, want[i*ldc:i*ldc+n], got[i*ldc:i*ldc+n]) {
						require.Equal(t, want[i*ldc:i*ldc+n], got[i*ldc:i*ldc+n], "%s row %d", msg, i)
					}
				}
			}
		}
	})
}
