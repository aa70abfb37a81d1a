package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// SmallGemmTF32 against a float64 definition on every dispatch path: row
// counts of B around the kernel widths (8, 16: masked stores), reductions
// around the vector widths (masked tails), padded strides, alpha, special
// values; nothing written outside C's rows and columns.

func smallGemmTDef(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int) ([]float64, []float64) {
	want, mag := make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, g float64
			for p := 0; p < k; p++ {
				v := float64(a[i*lda+p]) * float64(b[j*ldb+p])
				s += v
				g += math.Abs(v)
			}
			want[i*n+j] = float64(alpha) * s
			mag[i*n+j] = math.Abs(float64(alpha)) * g
		}
	}
	return want, mag
}

func TestSmallGemmTF32(t *testing.T) {
	cases := []struct{ m, n, k int }{
		{1, 12, 16}, // Informer's sampled keys
		{1, 1, 1}, {1, 16, 16}, {1, 17, 16}, {1, 8, 8}, {1, 9, 7}, {2, 3, 15}, {3, 33, 17},
		{4, 16, 64}, {1, 15, 100}, {2, 40, 1}, {4, 7, 31}, {1, 5, 257},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 23))
		for it := 0; it < 400; it++ {
			var m, n, k int
			if it < len(cases) {
				m, n, k = cases[it].m, cases[it].n, cases[it].k
			} else {
				m, n, k = 1+r.IntN(4), 1+r.IntN(40), 1+r.IntN(80)
			}
			lda, ldb, ldc := k+r.IntN(3), k+r.IntN(5), n+r.IntN(3)
			alpha := float32(1)
			if r.IntN(2) == 0 {
				alpha = float32(r.NormFloat64())
			}
			a := make([]float32, (m-1)*lda+k)
			b := make([]float32, (n-1)*ldb+k)
			for i := range a {
				a[i] = float32(r.NormFloat64())
			}
			for i := range b {
				b[i] = float32(r.NormFloat64())
			}
			const guard = -7.5
			c := make([]float32, m*ldc+8)
			for i := range c {
				c[i] = guard
			}
			name := fmt.Sprintf("m%d n%d k%d lda%d ldb%d ldc%d", m, n, k, lda, ldb, ldc)
			SmallGemmTF32(m, n, k, alpha, a, lda, b, ldb, c, ldc)
			want, mag := smallGemmTDef(m, n, k, alpha, a, lda, b, ldb)
			for i := 0; i < m; i++ {
				for j := 0; j < ldc; j++ {
					got := c[i*ldc+j]
					if j >= n {
						require.Equal(t, float32(guard), got, "%s: wrote C[%d][%d] past n", name, i, j)
						continue
					}
					tol := 1e-6*mag[i*n+j] + 1e-30
					require.InDelta(t, want[i*n+j], float64(got), tol, "%s: C[%d][%d]", name, i, j)
				}
			}
			for _, v := range c[m*ldc:] {
				require.Equal(t, float32(guard), v, "%s: wrote past C", name)
			}
		}
	})
}

func TestSmallGemmTF32Special(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	forEachPath(t, func(t *testing.T) {
		tests := []struct {
			name string
			a, b []float32
			want []float32
		}{
			{"NaN in A", []float32{1, nan, 2}, []float32{1, 1, 1, 2, 2, 2}, []float32{nan, nan}},
			{"Inf times zero", []float32{inf, 1}, []float32{0, 1, 1, 1}, []float32{nan, inf}},
			{"Inf in one row", []float32{1, 1}, []float32{inf, 1, 3, -1}, []float32{inf, 2}},
		}
		for _, tc := range tests {
			c := make([]float32, 2)
			SmallGemmTF32(1, 2, len(tc.a), 1, tc.a, len(tc.a), tc.b, len(tc.a), c, 2)
			for j, w := range tc.want {
				require.True(t, bitsEqualF32(w, c[j]) || (w != w && c[j] != c[j]), "%s: c[%d] = %v, want %v", tc.name, j, c[j], w)
			}
		}
	})
}

func BenchmarkSmallGemmTF32(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{1, 12, 16}, {1, 64, 64}, {4, 16, 64}} {
		a := make([]float32, s.m*s.k)
		w := make([]float32, s.n*s.k)
		c := make([]float32, s.m*s.n)
		b.Run(fmt.Sprintf("small_%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				SmallGemmTF32(s.m, s.n, s.k, 1, a, s.k, w, s.k, c, s.n)
			}
		})
		b.Run(fmt.Sprintf("sgemm_%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				SgemmScaled(true, s.m, s.n, s.k, 1, a, s.k, w, s.k, c, s.n, 1)
			}
		})
	}
}
