package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPackQGemmErrors(t *testing.T) {
	w := []int8{1, 2, 3, -128, 5, 6}
	_, err := PackQGemm(2, 3, w[:5], nil, 0)
	require.Error(t, err)
	_, err = PackQGemm(0, 3, w, nil, 0)
	require.Error(t, err)
	_, err = PackQGemm(2, 3, w, nil, 128)
	require.ErrorContains(t, err, "zero point")
}

var qgemmShapes = []struct{ m, n, k int }{
	{1, 1, 1}, {1, 16, 4}, {1, 1000, 2048}, {1, 17, 33}, {2, 3, 5}, {3, 33, 7}, {4, 16, 64}, {5, 48, 13},
	{7, 31, 31}, {12, 32, 64}, {13, 64, 100}, {25, 50, 3}, {37, 96, 129}, {64, 64, 64}, {100, 10, 300}, {129, 130, 131},
	{300, 24, 72}, {16, 16, 64}, {17, 48, 128}, {33, 80, 192}, {100, 272, 256}, {49, 512, 576}, {31, 15, 64},
}

func TestQGemmVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, sh := range qgemmShapes {
			for _, zp := range []int32{0, -128, 127, -3} {
				lda, ldo := sh.k+r.IntN(3), sh.n+r.IntN(3)
				a := randI8(r, (sh.m-1)*lda+sh.k, -128, 127)
				w := randI8(r, sh.n*sh.k, -127, 127)
				if sh.k > 2 { // extremes
					w[0], w[1], a[0], a[1] = -127, 127, -128, -128
				}
				bias := randI32(r, sh.n, 1<<16)
				pw, err := PackQGemm(sh.n, sh.k, w, bias, zp)
				require.NoError(t, err)
				want := refQGemmAcc(sh.m, sh.n, sh.k, a, lda, w, bias, zp)
				for _, threads := range []int{1, 2, 3} {
					got32 := make([]int32, (sh.m-1)*ldo+sh.n)
					QGemmInt32(sh.m, a, lda, pw, got32, ldo, threads)
					for i := 0; i < sh.m; i++ {
						if !assert.Equal(quietT{}, want[i*sh.n:(i+1)*sh.n], got32[i*ldo:i*ldo+sh.n]) {
							require.Equal(t, want[i*sh.n:(i+1)*sh.n], got32[i*ldo:i*ldo+sh.n], "int32 %v zp=%d row %d threads %d", sh, zp, i, threads)
						}
					}
				}
				scales := make([]float64, sh.n)
				for i := range scales {
					scales[i] = math.Exp(r.Float64()*4-12) * float64(1+sh.k/64)
				}
				for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
					rq := NewRequant(mode, scales, int32(r.IntN(256)-128), -128, 127)
					if r.IntN(2) == 0 {
						rq = NewRequant(mode, scales[:1], rq.OutZP, rq.OutZP, 127) // per-tensor + relu
					}
					got := make([]int8, (sh.m-1)*ldo+sh.n)
					QGemm(sh.m, a, lda, pw, got, ldo, rq, 2)
					wantQ := refRequant(want, sh.n, rq)
					for i := 0; i < sh.m; i++ {
						if !assert.Equal(quietT{}, wantQ[i*sh.n:(i+1)*sh.n], got[i*ldo:i*ldo+sh.n]) {
							require.Equal(t, wantQ[i*sh.n:(i+1)*sh.n], got[i*ldo:i*ldo+sh.n], "int8 %v zp=%d mode=%v row %d", sh, zp, mode, i)
						}
					}
				}
			}
		}
	})
}

// TestQGemmSaturatingInputs uses the inputs that break the non-exact AVX2
// u8·s8 path (|a|=128 with |w|=127 in both lanes of a pair).
func TestQGemmSaturatingInputs(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, av := range []int8{-128, 127} {
			for _, wv := range []int8{-127, 127} {
				m, n, k := 5, 40, 37
				a := make([]int8, m*k)
				w := make([]int8, n*k)
				for i := range a {
					a[i] = av
				}
				for i := range w {
					w[i] = wv
				}
				pw, err := PackQGemm(n, k, w, nil, 0)
				require.NoError(t, err)
				got := make([]int32, m*n)
				QGemmInt32(m, a, k, pw, got, n, 1)
				if !assert.Equal(quietT{}, refQGemmAcc(m, n, k, a, k, w, nil, 0), got) {
					require.Equal(t, refQGemmAcc(m, n, k, a, k, w, nil, 0), got)
				}
			}
		}
	})
}

func TestMatMulInt8(t *testing.T) {
	forEachPath(t, testMatMulInt8)
}

func testMatMulInt8(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i, sh := range append(qgemmShapes, struct{ m, n, k int }{64, 80, 96}, struct{ m, n, k int }{40, 50, 60}) {
		a := randI8(r, sh.m*sh.k, -128, 127)
		lo := -128
		if i%2 == 0 {
			lo = -127 // packed path (no -128 in B)
		}
		b := randI8(r, sh.k*sh.n, lo, 127)
		if i%4 == 3 {
			// Mostly -128 (a softmax output quantized over [0, 1]): the plain
			// loop; the odd shapes with a few -128 take the packed GEMM and its
			// correction.
			for j := range b {
				if r.IntN(4) != 0 {
					b[j] = -128
				}
			}
		}
		azp, bzp := int32(r.IntN(256)-128), int32(r.IntN(256)-128)
		got := make([]int32, sh.m*sh.n)
		MatMulInt8(sh.m, sh.n, sh.k, a, azp, b, bzp, got)
		for i := 0; i < sh.m; i++ {
			for j := 0; j < sh.n; j++ {
				var acc int32
				for p := 0; p < sh.k; p++ {
					acc += (int32(a[i*sh.k+p]) - azp) * (int32(b[p*sh.n+j]) - bzp)
				}
				if !assert.Equal(quietT{}, acc, got[i*sh.n+j]) {
					require.Equal(t, acc, got[i*sh.n+j], "%v [%d,%d]", sh, i, j)
				}
			}
		}
	}
}

func TestSgemmVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		shapes := []struct{ m, n, k int }{{1, 1, 1}, {1, 7, 3}, {5, 17, 9}, {6, 16, 1}, {7, 33, 65}, {13, 1, 300}, {64, 64, 64}, {100, 37, 259}, {150, 200, 270}}
		for _, sh := range shapes {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, accum := range []bool{false, true} {
						a, lda, b, ldb, c, ldc := randOperands(r, ta, tb, sh.m, sh.n, sh.k)
						want := refGemmEp(ta, tb, sh.m, sh.n, sh.k, a, lda, b, ldb, c, ldc, accum, nil)
						Sgemm(ta, tb, sh.m, sh.n, sh.k, a, lda, b, ldb, c, ldc, accum, 1+r.IntN(2))
						for i := 0; i < sh.m; i++ {
							for j := 0; j < sh.n; j++ {
								if !assert.InDelta(quietT{}, want[i*sh.n+j], c[i*ldc+j], 1e-5*float64(sh.k+1)) {
									require.InDelta(t, want[i*sh.n+j], c[i*ldc+j], 1e-5*float64(sh.k+1), "%v ta=%v tb=%v acc=%v [%d,%d]", sh, ta, tb, accum, i, j)
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestConcurrentCallers runs kernels from several goroutines at once, all
// sharing the worker pool, and checks the results.
func TestConcurrentCallers(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	m, n, k := 70, 48, 72
	a := randI8(r, m*k, -128, 127)
	w := randI8(r, n*k, -127, 127)
	pw, err := PackQGemm(n, k, w, nil, 5)
	require.NoError(t, err)
	want := refQGemmAcc(m, n, k, a, k, w, nil, 5)
	s := convCases[1].s
	cw := randI8(r, s.OC*s.C*s.KH*s.KW, -127, 127)
	pc, err := PackQConv(s, cw, nil, -3)
	require.NoError(t, err)
	in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
	rq := NewRequant(RequantFloat, []float64{0.01}, 0, -128, 127)
	wantConv := refRequant(refConvAcc(s, in, cw, nil, -3), s.OC, rq)
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				got := make([]int32, m*n)
				QGemmInt32(m, a, k, pw, got, n, 2)
				gc := make([]int8, len(wantConv))
				QConv(s, in, pc, gc, rq, 3)
				if !slices.Equal(got, want) || !slices.Equal(gc, wantConv) {
					errs <- fmt.Errorf("mismatch in goroutine")
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		require.NoError(t, <-errs)
	}
}
