package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSgemmTapRowsF32 checks SgemmTapRowsF32 on every path bit for bit against
// tapRowsPacked (the transposed packed GEMM it replaces in QAT's shifted weight
// gradient, which defines the rounding: blocks of sgKC, each added to C), and
// against float64 sums within rounding: row counts around the six-row tile,
// column counts around the 16- and 32-column panels, reductions around the
// block, overlapping and far-apart offsets, 1 and 2 threads, NaN, -0 and Inf in
// x, and C's elements outside its n columns untouched.
func TestSgemmTapRowsF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 11))
		for _, m := range []int{1, 5, 6, 9, 13, 20} {
			for _, n := range []int{1, 10, 16, 17, 32, 48, 64} {
				for _, k := range []int{1, 7, 383, 385, 838} {
					for _, threads := range []int{1, 2} {
						t.Run(fmt.Sprintf("m%d/n%d/k%d/t%d", m, n, k, threads), func(t *testing.T) {
							x := make([]float32, k+900)
							for i := range x {
								x[i] = float32(r.NormFloat64())
							}
							x[3], x[len(x)-1], x[700] = float32(math.NaN()), float32(math.Copysign(0, -1)), float32(math.Inf(1))
							off := make([]int32, m)
							for i := range off {
								off[i] = int32(r.IntN(901))
							}
							ldb := k + r.IntN(3)
							bt := make([]float32, (n-1)*ldb+k)
							for i := range bt {
								bt[i] = float32(r.NormFloat64())
							}
							ldc := n + 2
							c := make([]float32, m*ldc)
							for i := range c {
								c[i] = float32(r.NormFloat64())
							}
							want := append([]float32(nil), c...)
							f64 := make([]float64, len(c))
							for i := 0; i < m; i++ {
								for j := 0; j < n; j++ {
									s := float64(c[i*ldc+j])
									for p := 0; p < k; p++ {
										s += float64(x[int(off[i])+p]) * float64(bt[j*ldb+p])
									}
									f64[i*ldc+j] = s
								}
							}
							require.NoError(t, SgemmTapRowsF32(x, off, k, bt, ldb, n, c, ldc, threads))
							tapRowsPacked(x, off, k, bt, ldb, n, want, ldc, threads)
							for i := range c {
								require.Equal(t, math.Float32bits(want[i]), math.Float32bits(c[i]), "C[%d]", i)
								if i%ldc >= n {
									continue
								}
								if math.IsNaN(f64[i]) || math.IsInf(f64[i], 0) {
									continue
								}
								require.InDelta(t, f64[i], float64(c[i]), 1e-5*float64(k)*(1+math.Abs(f64[i])), "C[%d] against float64", i)
							}
						})
					}
				}
			}
		}
	})
}

// TestSgemmTapRowsF32Refuses checks that out-of-range operands are errors, with
// nothing written.
func TestSgemmTapRowsF32Refuses(t *testing.T) {
	x, bt, c := make([]float32, 20), make([]float32, 2*8), make([]float32, 3*2)
	for _, tc := range []struct {
		name string
		off  []int32
		k    int
		ldb  int
		n    int
		c    []float32
	}{
		{"row past x", []int32{0, 13, 1}, 8, 8, 2, c},
		{"negative offset", []int32{0, -1, 1}, 8, 8, 2, c},
		{"B too short", []int32{0, 1, 2}, 8, 9, 2, c},
		{"C too short", []int32{0, 1, 2}, 8, 8, 2, c[:5]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]float32(nil), tc.c...)
			require.Error(t, SgemmTapRowsF32(x, tc.off, tc.k, bt, tc.ldb, tc.n, tc.c, tc.n, 1))
			require.Equal(t, before, tc.c)
		})
	}
}
