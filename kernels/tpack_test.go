package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRepackTransposedMatchesReference checks the per-call pack of a B
// stored transposed (SgemmScaled's kᵀ: 16x16 register transposes on
// AVX-512, Go elsewhere and for the edges) element by element against its
// definition, panel (q, kb) row r lane l = alpha·B[q·32+l][kb's rows + r],
// zero past n, bit for bit, on every path: whole and partial panels and
// 16-row groups, reductions of several blocks, alpha 1 and not, and a
// scratch reused across shapes.
func TestRepackTransposedMatchesReference(t *testing.T) {
	shapes := []struct {
		k, n  int
		alpha float32
	}{
		{64, 197, 0.125}, {197, 64, 1}, {16, 16, 1}, {15, 40, 2}, {33, 17, -0.5}, {600, 50, 0.3}, {64, 32, 1}, {1, 1, 3},
	}
	forEachPath(t, func(t *testing.T) {
		p := new(DenseB)
		for si, s := range shapes {
			r := rand.New(rand.NewPCG(uint64(si), 9))
			ldb := s.k + si
			b := randF32(r, (s.n-1)*ldb+s.k)
			b[0] = float32(math.NaN())
			p.repack(true, s.k, s.n, s.alpha, b, ldb)
			for kb := 0; kb < p.nkb; kb++ {
				pc, pe := p.block(kb)
				for q := 0; q < p.panels; q++ {
					blk := p.panel(kb, q)
					for row := 0; row < pe-pc; row++ {
						for l := 0; l < denseNR; l++ {
							var want float32
							if j := q*denseNR + l; j < s.n {
								want = b[j*ldb+pc+row] * s.alpha
							}
							got := blk[row*denseNR+l]
							if !assert.Equal(quietT{}, math.Float32bits(want), math.Float32bits(got)) {
								require.Equal(t, math.Float32bits(want), math.Float32bits(got), fmt.Sprintf("k=%d n=%d block %d panel %d row %d lane %d", s.k, s.n, kb, q, row, l))
							}
						}
					}
				}
			}
		}
	})
}
