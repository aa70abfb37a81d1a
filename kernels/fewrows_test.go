package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmFewRowsVsReference checks SgemmPackedB on 2-5 rows (the few-row
// kernels: a recurrent step's batch) and Sgemm's last row tiles of 1-5 rows
// (sgemmBlock's partial tiles) on every path against a float64 reference:
// whole and partial panels, groups of four panels and single ones, reductions
// longer than one sgKC block, accumulate, a row stride wider than k and 1-2
// threads. On the assembly paths each row must also be bit-identical to the
// same row computed by the six-row tile (A padded with zero rows to six).
func TestSgemmFewRowsVsReference(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{2, 192, 48}, {2, 96, 48}, {1, 192, 48}, {3, 17, 9}, {4, 64, 1}, {5, 65, 33}, {2, 80, 40},
		{2, 144, 770}, {3, 400, 384}, {4, 1000, 517}, {5, 16, 2}, {2, 7, 3},
		{7, 33, 65}, {11, 192, 40}, {40, 192, 40}, {10, 48, 400},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(71, 72))
		for _, s := range shapes {
			for _, accum := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					m, n, k := s.m, s.n, s.k
					a, lda, b, ldb, c0, ldc := randOperands(r, false, tb, m, n, k)
					th := 1 + r.IntN(2)
					pb := PackSgemmB(tb, k, n, b, ldb)
					c := append([]float32(nil), c0...)
					SgemmPackedB(false, m, a, lda, pb, c, ldc, accum, nil, th)
					msg := fmt.Sprintf("m=%d n=%d k=%d accumulate=%v transB=%v threads=%d", m, n, k, accum, tb, th)
					want := refGemmEp(false, tb, m, n, k, a, lda, b, ldb, c0, ldc, accum, nil)
					checkClose(t, want, c, m, n, k, ldc, msg)
					cs := append([]float32(nil), c0...)
					Sgemm(false, tb, m, n, k, a, lda, b, ldb, cs, ldc, accum, th)
					checkClose(t, want, cs, m, n, k, ldc, msg+" Sgemm")
					if F32Path() == PathGo || m == 1 {
						continue
					}
					// the six-row tile on A padded with zero rows
					rows := (m + sgMR - 1) / sgMR * sgMR
					ap := make([]float32, rows*lda)
					copy(ap, a)
					ct := make([]float32, rows*ldc)
					copy(ct, c0)
					SgemmPackedB(false, rows, ap, lda, pb, ct, ldc, accum, nil, th)
					for i := 0; i < m; i++ {
						if !assert.Equal(quietT{}, ct[i*ldc:i*ldc+n], c[i*ldc:i*ldc+n]) {
							require.Equal(t, ct[i*ldc:i*ldc+n], c[i*ldc:i*ldc+n], "%s row %d bit-exact vs the 6-row tile", msg, i)
						}
						if m*n*k >= 16*16*16 {
							if !assert.Equal(quietT{}, ct[i*ldc:i*ldc+n], cs[i*ldc:i*ldc+n]) {
								require.Equal(t, ct[i*ldc:i*ldc+n], cs[i*ldc:i*ldc+n], "%s row %d Sgemm bit-exact vs the 6-row tile", msg, i)
							}
						}
					}
				}
			}
		}
	})
}
