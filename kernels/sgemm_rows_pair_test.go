package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmRowsIdxPairVsReference checks the paired tile against a float64
// reference on every dispatch path: row counts that are and are not
// multiples of six, rows in any order and spacing, reductions of 1 to 150
// steps (the unrolled loop and its tail), channel shifts dc, bias, residual
// (also the residual being C itself), clamp and an activation.
func TestSgemmRowsIdxPairVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 3))
		for _, k := range []int{1, 3, 16, 144, 150} {
			for _, m := range []int{1, 6, 7, 49, 200} {
				for variant := 0; variant < 8; variant++ {
					withBias, clip, withRes := variant&1 != 0, variant&2 != 0, variant&4 != 0
					inPlace := withRes && m%2 == 1
					act := ActNone
					if variant == 3 {
						act = ActSiLU
					}
					t.Run(fmt.Sprintf("k%d_m%d_v%d", k, m, variant), func(t *testing.T) {
						dc := 1 + r.IntN(40)
						off := make([]int32, k)
						maxOff := 0
						for p := range off {
							off[p] = int32(r.IntN(4*k + 9))
							maxOff = max(maxOff, int(off[p]))
						}
						aoff, coff := make([]int32, m), make([]int32, m)
						perm := r.Perm(m)
						for i := range aoff {
							aoff[i] = int32(r.IntN(300))
							coff[i] = int32(perm[i]*37 + r.IntN(3)) // distinct rows, 37 apart (>= 32)
						}
						x := randF32(r, 300+maxOff+dc+1)
						w0, w1 := randF32(r, k*16), randF32(r, k*16)
						var bias []float32
						if withBias {
							bias = randF32(r, 32)
						}
						c := randF32(r, m*37+40)
						var res []float32
						if withRes {
							res = randF32(r, len(c))
							if inPlace {
								copy(res, c)
								res = c
							}
						}
						resCopy := append([]float32(nil), res...)
						before := append([]float32(nil), c...)
						lo, hi := float32(-0.5), float32(0.75)
						SgemmRowsIdxPair(PackRowsPair(k, w0, w1), x, aoff, off, dc, bias, c, coff, res, clip, lo, hi, act)
						written := map[int]bool{}
						tol := 1e-5 * math.Sqrt(float64(k))
						for i := 0; i < m; i++ {
							want := make([]float32, 32)
							for j := range want {
								h, jj := j/16, j%16
								w := w0
								if h == 1 {
									w = w1
								}
								var s float64
								if bias != nil {
									s = float64(bias[j])
								}
								for p := 0; p < k; p++ {
									s += float64(x[int(aoff[i])+int(off[p])+h*dc]) * float64(w[p*16+jj])
								}
								if res != nil {
									s += float64(resCopy[int(coff[i])+j])
								}
								if clip {
									s = math.Max(float64(lo), math.Min(float64(hi), s))
								}
								want[j] = float32(s)
							}
							ActF32(act, want, want)
							for j, v := range want {
								o := int(coff[i]) + j
								written[o] = true
								if !assert.InDelta(quietT{}, v, c[o], tol*(1+math.Abs(float64(v)))) {
									require.InDelta(t, v, c[o], tol*(1+math.Abs(float64(v))), "row %d col %d", i, j)
								}
							}
						}
						for o := range c {
							if !written[o] {
								if !assert.Equal(quietT{}, before[o], c[o]) {
									require.Equal(t, before[o], c[o], "element %d outside the rows changed", o)
								}
							}
						}
					})
				}
			}
		}
	})
}

// TestSgemmRowsIdxPairRejects checks the argument checks.
func TestSgemmRowsIdxPairRejects(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	pb := PackRowsPair(4, randF32(r, 64), randF32(r, 64))
	x, c := randF32(r, 100), make([]float32, 100)
	off := []int32{0, 1, 2, 3}
	require.Panics(t, func() { SgemmRowsIdxPair(pb, x, []int32{0}, off[:3], 0, nil, c, []int32{0}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmRowsIdxPair(pb, x, []int32{0}, off, 97, nil, c, []int32{0}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmRowsIdxPair(pb, x, []int32{0}, off, 0, nil, c, []int32{80}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() {
		SgemmRowsIdxPair(PackRowsB16(4, 16, randF32(r, 64), 16), x, []int32{0}, off, 0, nil, c, []int32{0}, nil, false, 0, 0, ActNone)
	})
	require.Panics(t, func() { PackRowsPair(4, randF32(r, 60), randF32(r, 64)) })
}
