package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRows16ZMatchesAVX2 checks the one-zmm-per-row kernel of SgemmRowsIdx's
// 16-wide panels (selected on CPUs with full-width 512-bit FMAs) against the
// AVX2 one it replaces: each output lane is the same chain of FMAs (bias,
// then the reduction steps in order, then the residual and the clamp), so
// the two agree bit for bit, over residuals and activations. Skipped where
// the CPU has no AVX-512.
func TestRows16ZMatchesAVX2(t *testing.T) {
	if !f32Wide {
		t.Skip("no AVX-512")
	}
	defer func(v bool) { rows16Z = v }(rows16Z)
	r := rand.New(rand.NewPCG(61, 62))
	for _, sh := range []struct{ m, n, k int }{{6, 16, 9}, {49, 48, 600}, {200, 112, 1100}, {13, 400, 64}} {
		for variant := 0; variant < 16; variant++ {
			withBias, withRes, clip, act := rowsVariant(variant)
			m, n, k := sh.m, sh.n, sh.k
			msg := fmt.Sprintf("%v variant=%d", sh, variant)
			off := make([]int32, k)
			for p := range off {
				off[p] = int32(r.IntN(2*k + 3))
			}
			lda := k/2 + 1
			x := randF32(r, (m-1)*lda+2*k+3)
			pb := PackRowsB16(k, n, randF32(r, k*n), n)
			var bias, res []float32
			if withBias {
				bias = randF32(r, n)
			}
			if withRes {
				res = randF32(r, m*n)
			}
			aoff, coff := make([]int32, m), make([]int32, m)
			for i := range aoff {
				aoff[i] = int32(r.IntN(m) * lda)
				coff[i] = int32(i * n)
			}
			var got [2][]float32
			for i, z := range []bool{false, true} {
				rows16Z = z
				got[i] = make([]float32, m*n)
				SgemmRowsIdx(pb, x, aoff, off, bias, got[i], coff, res, clip, -0.5, 3, act)
			}
			if !assert.Equal(quietT{}, got[0], got[1]) {
				require.Equal(t, got[0], got[1], "SgemmRowsIdx %s", msg)
			}
		}
	}
}
