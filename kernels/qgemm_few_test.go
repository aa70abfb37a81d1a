package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQGemmInt32Few checks QGemmInt32Few on every dispatch path against a
// plain integer loop, for 1-14 rows (past the micro-kernels' height, which
// takes the driver), k a multiple of 4 and not, column counts that end
// inside a panel, activation zero points 0 and nonzero, and output strides
// wider than n (the columns in between stay untouched).
func TestQGemmInt32Few(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 9))
		for _, m := range []int{1, 2, 3, 5, 12, 14} {
			for _, k := range []int{4, 16, 48, 50, 64} {
				for _, n := range []int{7, 16, 33, 192} {
					for _, zp := range []int32{0, -5} {
						w := make([]int8, n*k)
						for i := range w {
							w[i] = int8(r.IntN(255) - 127)
						}
						pw, err := PackQGemm(n, k, w, nil, zp)
						require.NoError(t, err)
						lda, ldo := k+3, n+2
						a := make([]int8, m*lda)
						for i := range a {
							a[i] = int8(r.IntN(256) - 128)
						}
						out := make([]int32, m*ldo)
						for i := range out {
							out[i] = -777
						}
						QGemmInt32Few(m, a, lda, pw, out, ldo)
						for i := 0; i < m; i++ {
							for c := 0; c < ldo; c++ {
								want := int32(-777)
								if c < n {
									want = 0
									for kk := 0; kk < k; kk++ {
										want += (int32(a[i*lda+kk]) - zp) * int32(w[c*k+kk])
									}
								}
								require.Equal(t, want, out[i*ldo+c], "m=%d k=%d n=%d zp=%d [%d,%d]", m, k, n, zp, i, c)
							}
						}
					}
				}
			}
		}
	})
}
