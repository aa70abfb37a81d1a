package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSoftmaxTermsRowWhereExact checks the select term against Where
// computed element by element on every dispatch path, before the softmax:
// masked scores that are NaN, ±Inf or huge become the fill exactly, kept ones
// stay (rows of 1 to 70, so vector bodies and scalar tails), and a row
// masked whole with finfo.min gives the uniform distribution.
func TestSoftmaxTermsRowWhereExact(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for n := 1; n <= 70; n++ {
			for _, fill := range []float32{float32(math.Inf(-1)), -math.MaxFloat32, -1e4} {
				for _, keepIf := range []bool{true, false} {
					src := scaledF32(r, n, 8)
					src[r.IntN(n)] = float32(math.NaN())
					src[r.IntN(n)] = float32(math.Inf(1))
					src[r.IntN(n)] = 3e38
					cond := make([]bool, n)
					for j := range cond {
						cond[j] = r.IntN(3) == 0
					}
					term := ScoreTerm{Vals: make([]float32, n), Keep: make([]uint32, n), Row: []int32{0}}
					SelectTerm(cond, keepIf, fill, term.Keep, term.Vals)
					got := make([]float32, n)
					applyScoreTerms(got, src, []ScoreTerm{term}, 0)
					for j := range got {
						want := fill
						if cond[j] == keepIf {
							want = src[j]
						}
						if math.IsNaN(float64(want)) {
							require.True(t, math.IsNaN(float64(got[j])), "n %d j %d", n, j)
							continue
						}
						require.Equal(t, want, got[j], "n %d j %d fill %g keepIf %v", n, j, fill, keepIf)
					}
				}
			}
			// a row masked whole
			cond := make([]bool, n)
			term := ScoreTerm{Vals: make([]float32, n), Keep: make([]uint32, n), Row: []int32{0}}
			SelectTerm(cond, true, -math.MaxFloat32, term.Keep, term.Vals)
			dst := make([]float32, n)
			SoftmaxTermsRowF32(dst, scaledF32(r, n, 8), []ScoreTerm{term}, 0)
			for j := range dst {
				require.InDelta(t, 1/float64(n), dst[j], 1e-6, "n %d", n)
			}
		}
	})
}
