package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDequantRowI32 checks DequantRowI32 on every dispatch path, at lengths
// around the 8-lane blocks, setting and adding, with and without a zero point,
// against a float64 reference (one float32 rounding per operation, so the
// result must equal the reference rounded the same way bit for bit), and that
// the elements past len(dst) are not touched.
func TestDequantRowI32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 5))
		for _, n := range []int{1, 7, 8, 9, 16, 23, 48, 64, 100, 192, 257} {
			for _, add := range []bool{false, true} {
				for _, zp := range []int32{0, -128, 37} {
					acc := make([]int32, n+3)
					sum := make([]int32, n+3)
					ws := make([]float32, n+3)
					dst := make([]float32, n+3)
					for i := range acc {
						acc[i] = int32(r.IntN(1<<22) - 1<<21)
						sum[i] = int32(r.IntN(20000) - 10000)
						ws[i] = float32(r.Float64()*0.02 + 1e-4)
						dst[i] = float32(r.NormFloat64())
					}
					s := float32(r.Float64()*0.05 + 1e-3)
					want := make([]float32, n+3)
					copy(want, dst)
					for i := 0; i < n; i++ {
						tt := float32(float64(s) * float64(ws[i]))
						v := float32(float64(float32(float64(acc[i]-zp*sum[i]))) * float64(tt))
						if add {
							v = float32(float64(dst[i]) + float64(v))
						}
						want[i] = v
					}
					DequantRowI32(dst[:n], acc, sum, ws, s, zp, add)
					for i := range want {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(dst[i]),
							"n=%d add=%v zp=%d i=%d: got %v want %v", n, add, zp, i, dst[i], want[i])
					}
				}
			}
		}
	})
}
