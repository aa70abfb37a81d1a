package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQGemmRows checks QGemmRows against the reference GEMM and requantization
// on every dispatch path: the inline one-thread path, the driver (2 and 3
// threads, k not a multiple of 4), per-tensor and per-channel scales, both
// requantization modes, -128 in A, output strides wider than n.
func TestQGemmRows(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, sh := range qgemmShapes {
			for _, zp := range []int32{0, -128, 5} {
				lda, ldo := sh.k+r.IntN(3), sh.n+r.IntN(3)
				a := randI8(r, (sh.m-1)*lda+sh.k, -128, 127)
				w := randI8(r, sh.n*sh.k, -127, 127)
				a[0] = -128
				bias := randI32(r, sh.n, 1<<16)
				pw, err := PackQGemm(sh.n, sh.k, w, bias, zp)
				require.NoError(t, err)
				acc := refQGemmAcc(sh.m, sh.n, sh.k, a, lda, w, bias, zp)
				scales := make([]float64, sh.n)
				for i := range scales {
					scales[i] = math.Exp(r.Float64()*4-12) * float64(1+sh.k/64)
				}
				for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
					for _, perTensor := range []bool{false, true} {
						rq := NewRequant(mode, scales, int32(r.IntN(256)-128), -128, 127)
						if perTensor {
							rq = NewRequant(mode, scales[:1], rq.OutZP, rq.OutZP, 127)
						}
						want := refRequant(acc, sh.n, rq)
						rr := rq.ForRows(sh.n)
						for _, threads := range []int{1, 2, 3} {
							got := make([]int8, (sh.m-1)*ldo+sh.n)
							QGemmRows(sh.m, a, lda, pw, got, ldo, rr, threads)
							for i := 0; i < sh.m; i++ {
								require.Equal(t, want[i*sh.n:(i+1)*sh.n], got[i*ldo:i*ldo+sh.n],
									"%v zp=%d mode=%v per-tensor=%v threads=%d row %d", sh, zp, mode, perTensor, threads, i)
							}
						}
					}
				}
			}
		}
	})
}

func TestQGemmRowsWrongLength(t *testing.T) {
	pw, err := PackQGemm(4, 8, make([]int8, 32), nil, 0)
	require.NoError(t, err)
	rr := NewRequant(RequantFloat, []float64{0.1}, 0, -128, 127).ForRows(3)
	require.Panics(t, func() { QGemmRows(1, make([]int8, 8), 8, pw, make([]int8, 4), 4, rr, 1) })
}

// BenchmarkQGemmRowsSmall is a transformer encoder's projection ([32, 32]
// by 96 outputs) through QGemm and QGemmRows at one thread.
func BenchmarkQGemmRowsSmall(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const m, n, k = 32, 96, 32
	a := randI8(r, m*k, -128, 127)
	pw, err := PackQGemm(n, k, randI8(r, n*k, -127, 127), randI32(r, n, 1<<10), 3)
	require.NoError(b, err)
	rq := NewRequant(RequantFloat, []float64{0.001}, 2, -128, 127)
	out := make([]int8, m*n)
	b.Run("QGemm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			QGemm(m, a, k, pw, out, n, rq, 1)
		}
	})
	rr := rq.ForRows(n)
	b.Run("QGemmRows", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			QGemmRows(m, a, k, pw, out, n, rr, 1)
		}
	})
}
