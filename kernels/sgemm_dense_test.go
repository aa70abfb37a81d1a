package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refDense is the float64 reference of SgemmDense.
func refDense(m, k, n int, a []float32, lda int, b []float32, bias, res []float32, ldc int, act Act) []float32 {
	out := make([]float32, m*ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			if bias != nil {
				s = float64(bias[j])
			}
			for p := 0; p < k; p++ {
				s += float64(a[i*lda+p]) * float64(b[p*n+j])
			}
			if res != nil {
				s += float64(res[i*ldc+j])
			}
			out[i*ldc+j] = float32(s)
		}
		if act != ActNone {
			row := out[i*ldc : i*ldc+n]
			ActF32(act, row, row)
		}
	}
	return out
}

// TestSgemmDense checks SgemmDense against the float64 reference on every
// dispatch path, for token counts that are and are not multiples of the
// 12-row tile, column counts that end in a partial 32-wide panel, reduction
// lengths of one, several and uneven blocks, strided A and C, with and
// without bias, residual and GELU, on one and two threads. It also runs the
// 32-wide block layout with the Go tiles wherever the assembly does not run.
func TestSgemmDense(t *testing.T) {
	shapes := []struct{ m, k, n int }{
		{1, 1, 1}, {1, 300, 70}, {2, 7, 32}, {5, 64, 33}, {11, 256, 31}, {12, 257, 64}, {13, 600, 96},
		{25, 513, 17}, {37, 40, 200}, {197, 96, 64}, {50, 1000, 48},
	}
	forEachPath(t, func(t *testing.T) {
		for si, s := range shapes {
			for _, v := range []struct {
				bias, res bool
				act       Act
			}{{false, false, ActNone}, {true, false, ActNone}, {true, true, ActNone}, {true, false, ActGELU}, {false, true, ActGELU}} {
				for _, th := range []int{1, 2} {
					for _, layout := range []string{"cpu", "blocks"} {
						name := fmt.Sprintf("%dx%dx%d/bias=%v/res=%v/%s/threads=%d/%s", s.m, s.k, s.n, v.bias, v.res, v.act, th, layout)
						r := rand.New(rand.NewPCG(uint64(si), uint64(th)))
						lda, ldc := s.k+3*(si%2), s.n+5*(si%3)
						a := randF32(r, (s.m-1)*lda+s.k)
						b := randF32(r, s.k*s.n)
						var bias, res []float32
						if v.bias {
							bias = randF32(r, s.n)
						}
						if v.res {
							res = randF32(r, (s.m-1)*ldc+s.n)
						}
						var pb *DenseB
						if layout == "cpu" {
							pb = PackDenseB(s.k, s.n, b, s.n, s.m)
						} else {
							pb = packDenseB(s.k, s.n, b, s.n)
						}
						// Sentinels between the rows of C must survive.
						c := make([]float32, s.m*ldc)
						for i := range c {
							c[i] = 7
						}
						SgemmDense(pb, a, lda, s.m, bias, c, ldc, res, v.act, th)
						want := refDense(s.m, s.k, s.n, a, lda, b, bias, res, ldc, v.act)
						for i := 0; i < s.m; i++ {
							for j := 0; j < ldc; j++ {
								got := c[i*ldc+j]
								if j >= s.n {
									if !assert.Equal(quietT{}, float32(7), got) {
										require.Equal(t, float32(7), got, "%s: C[%d][%d] past n written", name, i, j)
									}
									continue
								}
								tol := 1e-5 * (1 + math.Sqrt(float64(s.k)))
								if !assert.InDelta(quietT{}, want[i*ldc+j], got, tol) {
									require.InDelta(t, want[i*ldc+j], got, tol, "%s: C[%d][%d]", name, i, j)
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestDenseSplit checks the work division: every row block and column block
// non-empty, and on two threads at least two items per thread when the
// panels allow it.
func TestDenseSplit(t *testing.T) {
	for _, s := range []struct{ m, panels, threads int }{
		{197, 24, 1}, {197, 72, 1}, {197, 96, 1}, {197, 24, 2}, {197, 72, 2}, {4096, 24, 2}, {13, 1, 2}, {50, 3, 2},
	} {
		rb, ci := denseSplit(s.m, s.panels, s.threads)
		tiles := (s.m + denseMR - 1) / denseMR
		if !assert.GreaterOrEqual(quietT{}, rb, 1) {
			require.GreaterOrEqual(t, rb, 1)
		}
		if !assert.LessOrEqual(quietT{}, rb, tiles) {
			require.LessOrEqual(t, rb, tiles)
		}
		if !assert.GreaterOrEqual(quietT{}, ci, 1) {
			require.GreaterOrEqual(t, ci, 1)
		}
		if !assert.LessOrEqual(quietT{}, ci, s.panels) {
			require.LessOrEqual(t, ci, s.panels)
		}
		rows := (tiles + rb - 1) / rb * denseMR
		if !assert.LessOrEqual(quietT{}, 4*denseMR*denseKC*((tiles+rb-1)/rb), max(denseRowsBudget, 4*denseMR*denseKC)) {
			require.LessOrEqual(t, 4*denseMR*denseKC*((tiles+rb-1)/rb), max(denseRowsBudget, 4*denseMR*denseKC), "%+v", s)
		}
		if s.threads > 1 && s.panels >= 2*s.threads {
			if !assert.GreaterOrEqual(quietT{}, rb*ci, 2*s.threads) {
				require.GreaterOrEqual(t, rb*ci, 2*s.threads, "%+v", s)
			}
		}
		if ci < s.panels {
			if !assert.LessOrEqual(quietT{}, 4*rows*denseNR*((s.panels+ci-1)/ci), max(denseCBudget, 4*rows*denseNR)) {
				require.LessOrEqual(t, 4*rows*denseNR*((s.panels+ci-1)/ci), max(denseCBudget, 4*rows*denseNR), "%+v", s)
			}
		}
	}
}
