package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmScaled checks SgemmScaled against a float64 reference of alpha·A·B
// on every dispatch path: attention's shapes (197x64 · 64x197 with B stored
// transposed, 197x197 · 197x64), edges of the 12-row tile and the 32-wide
// panel, reductions longer than one block, strided operands, on one and two
// threads, with the packed scratch reused across calls of other shapes.
func TestSgemmScaled(t *testing.T) {
	shapes := []struct {
		m, n, k int
		transB  bool
		alpha   float32
	}{
		{197, 197, 64, true, 0.125}, {197, 64, 197, false, 1}, {1, 1, 1, false, 2}, {13, 33, 7, true, -0.5},
		{25, 31, 300, false, 0.1}, {12, 64, 513, true, 1}, {5, 100, 40, false, 3},
	}
	forEachPath(t, func(t *testing.T) {
		for si, s := range shapes {
			for _, th := range []int{1, 2} {
				name := fmt.Sprintf("%dx%dx%d/transB=%v/alpha=%v/threads=%d", s.m, s.n, s.k, s.transB, s.alpha, th)
				r := rand.New(rand.NewPCG(uint64(si), 7))
				lda, ldb, ldc := s.k+si, s.n+2*si, s.n+3
				if s.transB {
					ldb = s.k + si
				}
				a := randF32(r, (s.m-1)*lda+s.k)
				var b []float32
				if s.transB {
					b = randF32(r, (s.n-1)*ldb+s.k)
				} else {
					b = randF32(r, (s.k-1)*ldb+s.n)
				}
				c := make([]float32, s.m*ldc)
				for i := range c {
					c[i] = 7
				}
				SgemmScaled(s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, c, ldc, th)
				for i := 0; i < s.m; i++ {
					for j := 0; j < ldc; j++ {
						if j >= s.n {
							if !assert.Equal(quietT{}, float32(7), c[i*ldc+j]) {
								require.Equal(t, float32(7), c[i*ldc+j], "%s: C[%d][%d] past n written", name, i, j)
							}
							continue
						}
						var want float64
						for p := 0; p < s.k; p++ {
							var bv float32
							if s.transB {
								bv = b[j*ldb+p]
							} else {
								bv = b[p*ldb+j]
							}
							want += float64(a[i*lda+p]) * float64(bv)
						}
						want *= float64(s.alpha)
						tol := 1e-5 * (1 + math.Sqrt(float64(s.k))) * math.Max(1, math.Abs(float64(s.alpha)))
						if !assert.InDelta(quietT{}, want, c[i*ldc+j], tol) {
							require.InDelta(t, want, c[i*ldc+j], tol, "%s: C[%d][%d]", name, i, j)
						}
					}
				}
			}
		}
	})
}
