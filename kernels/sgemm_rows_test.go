package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rowsVariant decodes the 16 epilogue variants of the SgemmRows tests: bias,
// residual, clamp and an activation, one bit each (SiLU with a bias,
// LeakyRelu(0.1) without).
func rowsVariant(v int) (withBias, withRes, clip bool, act Act) {
	act = ActNone
	if v&8 != 0 {
		act = ActSiLU
		if v&1 == 0 {
			act = LeakyReluAct(0.1)
		}
	}
	return v&1 != 0, v&2 != 0, v&4 != 0, act
}

// TestSgemmRowsVsReference checks the in-place-A GEMM against a float64
// reference: x sized exactly (the last row tiles must be gathered) or with
// room, partial column panels, bias, residual and clamp, 1-3 threads, every path.
func TestSgemmRowsVsReference(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {1, 16, 5}, {6, 16, 9}, {7, 33, 65}, {13, 16, 300}, {49, 64, 100}, {61, 48, 577}, {100, 20, 7}, {5, 70, 0}, {200, 32, 40}, {50, 24, 600}, {300, 40, 24},
		{19, 96, 30}, {25, 144, 17}, {14, 112, 50}, {1, 672, 28}, {1, 40, 9},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(49, 50))
		for _, sh := range shapes {
			for variant := 0; variant < 16; variant++ {
				withBias, withRes, clip, act := rowsVariant(variant)
				m, n, k := sh.m, sh.n, sh.k
				lda := k/3 + 1 + r.IntN(5)
				span := 2*k + 10
				off := make([]int32, k)
				maxOff := 0
				for p := range off {
					off[p] = int32(r.IntN(span))
					maxOff = max(maxOff, int(off[p]))
				}
				size := (m-1)*lda + maxOff + 1
				if variant%3 == 0 {
					size += 6 * lda
				}
				x := randF32(r, size)
				w := randF32(r, k*n)
				pb := PackRowsB(k, n, w, n)
				ldc := n + r.IntN(3)
				c := randF32(r, (m-1)*ldc+n)
				var bias, res []float32
				if withBias {
					bias = randF32(r, n)
				}
				if withRes {
					res = randF32(r, len(c))
				}
				lo, hi := float32(-0.5), float32(3)
				th := 1 + r.IntN(3)
				if act == ActNone {
					SgemmRows(pb, x, lda, off, m, bias, c, ldc, res, clip, lo, hi, th)
				} else {
					SgemmRowsAct(pb, x, lda, off, m, bias, c, ldc, res, clip, lo, hi, act, th)
				}
				want := refRowsAct(x, lda, off, w, m, n, k, bias, res, ldc, clip, lo, hi, act)
				checkClose(t, want, c, m, n, k, ldc, fmt.Sprintf("%v variant=%d threads=%d", sh, variant, th))
			}
		}
	})
}

func TestSgemmRowsRejectsBadArguments(t *testing.T) {
	pb := PackRowsB(3, 16, make([]float32, 48), 16)
	x := make([]float32, 40)
	c := make([]float32, 4*16)
	require.Panics(t, func() { SgemmRows(pb, x, 8, []int32{0, 1}, 4, nil, c, 16, nil, false, 0, 0, 1) }, "too few offsets")
	require.Panics(t, func() { SgemmRows(pb, x, 8, []int32{0, 1, 17}, 4, nil, c, 16, nil, false, 0, 0, 1) }, "last row past the end")
	require.Panics(t, func() { SgemmRows(pb, x, 8, []int32{0, -1, 2}, 4, nil, c, 16, nil, false, 0, 0, 1) }, "negative offset")
	require.Panics(t, func() { SgemmRows(pb, x, 8, []int32{0, 1, 2}, 5, nil, c, 16, nil, false, 0, 0, 1) }, "C too small")
	require.NotPanics(t, func() { SgemmRows(pb, x, 8, []int32{0, 1, 15}, 4, nil, c, 16, nil, false, 0, 0, 1) })
}

// TestRowsBAcrossPaths runs weights packed for one path (64- and 48-wide on
// AVX-512) after the dispatch changed (tests, a forced fallback): the Go
// kernel takes over with the same results.
func TestRowsBAcrossPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, sh := range []struct{ n, avx512 int }{{64, rowsWideNR}, {48, 48}, {96, 48}, {32, 32}, {80, sgNR}} {
		m, n, k := 13, sh.n, 37
		x, w := randF32(r, m*k+8), randF32(r, k*n)
		off := make([]int32, k)
		for p := range off {
			off[p] = int32(p)
		}
		pb := PackRowsB(k, n, w, n)
		if RowsPath() == "avx512" {
			if !assert.Equal(quietT{}, sh.avx512, pb.nr) {
				require.Equal(t, sh.avx512, pb.nr, "%d columns", n)
			}
		} else {
			if !assert.Equal(quietT{}, sgNR, pb.nr) {
				require.Equal(t, sgNR, pb.nr, "%d columns", n)
			}
		}
		want := make([]float32, m*n)
		SgemmRows(pb, x, k, off, m, nil, want, n, nil, false, 0, 0, 1)
		forEachPath(t, func(t *testing.T) {
			got := make([]float32, m*n)
			SgemmRows(pb, x, k, off, m, nil, got, n, nil, false, 0, 0, 2)
			for i := range got {
				if !assert.InDelta(quietT{}, want[i], got[i], 1e-4) {
					require.InDelta(t, want[i], got[i], 1e-4, "element %d (packed %d wide)", i, pb.nr)
				}
			}
		})
	}
}

// refRowsAct is the float64 reference of SgemmRowsAct: row i of the m×n result
// is bias + Σ_p x[i·lda + off[p]] · w[p·n + j] (+ res[i·ldc + j]), clamped to
// [lo, hi] when clip, then act. A nil bias or res adds nothing.
func refRowsAct(x []float32, lda int, off []int32, w []float32, m, n, k int, bias, res []float32, ldc int, clip bool, lo, hi float32, act Act) []float64 {
	want := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			if bias != nil {
				s = float64(bias[j])
			}
			for p := 0; p < k; p++ {
				s += float64(x[i*lda+int(off[p])]) * float64(w[p*n+j])
			}
			if res != nil {
				s += float64(res[i*ldc+j])
			}
			if clip {
				s = min(max(s, float64(lo)), float64(hi))
			}
			want[i*n+j] = refAct(act, s)
		}
	}
	return want
}
