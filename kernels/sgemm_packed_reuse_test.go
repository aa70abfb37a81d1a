package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRepackSgemmA checks that an operand repacked over a reused buffer (larger,
// then smaller, then larger shapes, both layouts, a reduction spanning several
// blocks) gives bit for bit what a fresh PackSgemmA gives, and Sgemm's result
// within rounding.
func TestRepackSgemmA(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	var pa *PackedA
	for _, sh := range []struct {
		trans   bool
		m, n, k int
	}{{false, 64, 100, 838}, {true, 7, 33, 5}, {false, 16, 144, 400}, {true, 70, 50, 900}} {
		lda := sh.k
		if sh.trans {
			lda = sh.m
		}
		a := randF32(r, sh.m*sh.k)
		b := randF32(r, sh.k*sh.n)
		pa = RepackSgemmA(pa, sh.trans, sh.m, sh.k, a, lda)
		if !assert.Equal(quietT{}, sh.m, pa.M()) {
			require.Equal(t, sh.m, pa.M())
		}
		if !assert.Equal(quietT{}, sh.k, pa.K()) {
			require.Equal(t, sh.k, pa.K())
		}
		if !assert.False(quietT{}, pa.HasBias()) {
			require.False(t, pa.HasBias())
		}
		got := make([]float32, sh.m*sh.n)
		SgemmPackedA(pa, false, sh.n, b, sh.n, got, sh.n, false, nil, 1)
		fresh := make([]float32, sh.m*sh.n)
		SgemmPackedA(PackSgemmA(sh.trans, sh.m, sh.k, a, lda, nil), false, sh.n, b, sh.n, fresh, sh.n, false, nil, 1)
		if !assert.Equal(quietT{}, fresh, got) {
			require.Equal(t, fresh, got, "%+v", sh)
		}
		want := make([]float32, sh.m*sh.n)
		Sgemm(sh.trans, false, sh.m, sh.n, sh.k, a, lda, b, sh.n, want, sh.n, false, 1)
		for i := range want {
			if !assert.InDelta(quietT{}, want[i], got[i], 1e-4*float64(sh.k)) {
				require.InDelta(t, want[i], got[i], 1e-4*float64(sh.k), "%+v [%d]", sh, i)
			}
		}
	}
}
