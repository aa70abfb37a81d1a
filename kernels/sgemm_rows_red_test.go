package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmRowsIdxRedVsReference checks every reduced tile shape against a
// float64 reference on every dispatch path: P = 2 and 4 channels a step, one
// to four groups a tile, one to four vectors a row (the masked last vector
// where they do not fill P), reductions of 1 to 37 steps (the unrolled loop
// and its tail), row counts that are and are not multiples of six, rows in
// any order and spacing, group shifts dc, bias, residual (also the residual
// being C itself), clamp and an activation; the elements outside the rows
// stay as they were.
func TestSgemmRowsIdxRedVsReference(t *testing.T) {
	var shapes [][3]int
	for s := range rowsRedShapes {
		shapes = append(shapes, s)
	}
	sort.Slice(shapes, func(i, j int) bool { return fmt.Sprint(shapes[i]) < fmt.Sprint(shapes[j]) })
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 9))
		for _, sh := range shapes {
			p, nacc, ngrp := sh[0], sh[1], sh[2]
			nout := nacc * 16 / p / ngrp
			n := ngrp * nout
			if !assert.True(quietT{}, RowsRedShape(p, ngrp, nout)) {
				require.True(t, RowsRedShape(p, ngrp, nout))
			}
			for _, k := range []int{1, 5, 37} {
				for _, m := range []int{1, 7, 50} {
					for _, variant := range []int{0, 3, 5, 6} {
						withBias, clip, withRes := variant&1 != 0, variant&2 != 0, variant&4 != 0
						inPlace := withRes && m%2 == 1
						act := ActNone
						if variant == 3 {
							act = ActSiLU
						}
						t.Run(fmt.Sprintf("P%dN%dG%d_k%d_m%d_v%d", p, nacc, ngrp, k, m, variant), func(t *testing.T) {
							dc := p * (1 + r.IntN(12))
							if variant != 3 && p == 4 && nacc == 4 && ngrp == 4 {
								dc = 4 // the vector tile: the four groups' channels consecutive
							}
							off := make([]int32, k)
							maxOff := 0
							for s := range off {
								off[s] = int32(r.IntN(4*k + 9))
								maxOff = max(maxOff, int(off[s]))
							}
							const stride = 37 // >= n: distinct rows do not overlap
							aoff, coff := make([]int32, m), make([]int32, m)
							perm := r.Perm(m)
							for i := range aoff {
								aoff[i] = int32(r.IntN(300))
								coff[i] = int32(perm[i]*stride + r.IntN(3))
							}
							x := randF32(r, 300+maxOff+(ngrp-1)*dc+p)
							w := make([][]float32, ngrp)
							var bias [][]float32
							if withBias {
								bias = make([][]float32, ngrp)
							}
							for g := range w {
								w[g] = randF32(r, k*p*nout)
								if withBias {
									bias[g] = randF32(r, nout)
								}
							}
							c := randF32(r, m*stride+40)
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
							pw := PackRowsRed(p, ngrp, nout, k, w, bias)
							require.Equal(t, n, pw.Outputs())
							SgemmRowsIdxRed(pw, x, aoff, off, dc, c, coff, res, clip, lo, hi, act)
							written := map[int]bool{}
							tol := 1e-5 * math.Sqrt(float64(k*p))
							for i := 0; i < m; i++ {
								want := make([]float32, n)
								for o := range want {
									g, j := o/nout, o%nout
									var s float64
									if bias != nil {
										s = float64(bias[g][j])
									}
									for q := 0; q < k*p; q++ {
										s += float64(x[int(aoff[i])+int(off[q/p])+g*dc+q%p]) * float64(w[g][q*nout+j])
									}
									if res != nil {
										s += float64(resCopy[int(coff[i])+o])
									}
									if clip {
										s = math.Max(float64(lo), math.Min(float64(hi), s))
									}
									want[o] = float32(s)
								}
								ActF32(act, want, want)
								for o, v := range want {
									at := int(coff[i]) + o
									written[at] = true
									if !assert.InDelta(quietT{}, v, c[at], tol*(1+math.Abs(float64(v)))) {
										require.InDelta(t, v, c[at], tol*(1+math.Abs(float64(v))), "row %d col %d", i, o)
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
		}
	})
}

// TestSgemmRowsIdxRedRejects checks the argument checks and the shapes
// without a tile.
func TestSgemmRowsIdxRedRejects(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pw := PackRowsRed(2, 1, 16, 4, [][]float32{randF32(r, 4*2*16)}, nil)
	x, c := randF32(r, 100), make([]float32, 100)
	off := []int32{0, 2, 4, 6}
	require.Panics(t, func() { SgemmRowsIdxRed(pw, x, []int32{0}, off[:3], 0, c, []int32{0}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmRowsIdxRed(pw, x, []int32{0}, off, -1, c, []int32{0}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmRowsIdxRed(pw, x, []int32{93}, off, 0, c, []int32{0}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmRowsIdxRed(pw, x, []int32{0}, off, 0, c, []int32{90}, nil, false, 0, 0, ActNone) })
	require.Panics(t, func() { PackRowsRed(2, 1, 12, 4, [][]float32{randF32(r, 4*2*12)}, nil) })   // 12 outputs: not whole vectors of 8
	require.Panics(t, func() { PackRowsRed(4, 1, 20, 4, [][]float32{randF32(r, 4*4*20)}, nil) })   // five vectors
	require.Panics(t, func() { PackRowsRed(2, 1, 16, 4, [][]float32{randF32(r, 4*2*16-1)}, nil) }) // short weights
	require.False(t, RowsRedShape(3, 1, 16))
	require.False(t, RowsRedShape(4, 3, 8)) // six vectors
}
