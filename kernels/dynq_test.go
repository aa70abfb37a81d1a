package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// DynqRowsF32 against a per-element definition on every dispatch path, bit
// for bit: widths around the vector widths (masked tails), padded strides,
// with and without bias and Relu, zero points, wrapping int32 sums, scales
// that give -0, NaN and Inf; nothing written past a row.
func TestDynqRowsF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 23))
		for it := 0; it < 600; it++ {
			n, rows := 1+r.IntN(70), 1+r.IntN(5)
			lda, ldd := n+1+r.IntN(3), n+r.IntN(3)
			acc := make([]int32, (rows-1)*lda+n+1)
			for i := range acc {
				acc[i] = int32(r.IntN(1<<20)) - 1<<19
				if r.IntN(50) == 0 {
					acc[i] = int32(r.Uint32()) // wraps
				}
			}
			colk, z := make([]int32, n), make([]int32, n)
			sc, bias := make([]float32, n), make([]float32, n)
			for c := 0; c < n; c++ {
				colk[c] = int32(r.IntN(4000)) - 2000
				z[c] = int32(r.IntN(256)) - 128
				sc[c] = float32(r.NormFloat64() * 1e-3)
				bias[c] = float32(r.NormFloat64())
				switch r.IntN(40) {
				case 0:
					sc[c] = float32(math.NaN())
				case 1:
					sc[c] = float32(math.Inf(-1))
				case 2:
					sc[c] = -1 // with v = 0: -0
					colk[c], z[c] = 0, 0
				}
			}
			for _, hasBias := range []bool{false, true} {
				for _, relu := range []bool{false, true} {
					var b []float32
					if hasBias {
						b = bias
					}
					const guard = float32(-7.5)
					dst := make([]float32, rows*ldd+4)
					for i := range dst {
						dst[i] = guard
					}
					DynqRowsF32(dst, ldd, acc, lda, colk, z, sc, b, n, rows, relu)
					name := fmt.Sprintf("n%d rows%d bias %v relu %v", n, rows, hasBias, relu)
					for i := 0; i < rows; i++ {
						for c := 0; c < ldd; c++ {
							got := dst[i*ldd+c]
							if c >= n {
								require.Equal(t, guard, got, "%s: wrote [%d][%d] past n", name, i, c)
								continue
							}
							v := acc[i*lda+c] - z[c]*acc[i*lda+n] + colk[c]
							want := float32(v) * sc[c]
							if hasBias {
								want += bias[c]
							}
							if relu && want < 0 {
								want = 0
							}
							require.True(t, bitsEqualF32(want, got), "%s: [%d][%d] = %v, want %v", name, i, c, got, want)
						}
					}
					for _, v := range dst[rows*ldd:] {
						require.Equal(t, guard, v, "%s: wrote past dst", name)
					}
				}
			}
		}
	})
}
