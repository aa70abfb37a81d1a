package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refGemmEp is the float64 reference of the packed GEMMs: [C0 +] A·B + rowBias +
// colBias + residual, clipped.
func refGemmEp(ta, tb bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c0 []float32, ldc int, accum bool, ep *SgemmEpilogue) []float64 {
	want := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			if accum {
				s = float64(c0[i*ldc+j])
			}
			for p := 0; p < k; p++ {
				var av, bv float32
				if ta {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tb {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			if ep != nil {
				if ep.RowBias != nil {
					s += float64(ep.RowBias[i])
				}
				if ep.ColBias != nil {
					s += float64(ep.ColBias[j])
				}
				if ep.Residual != nil {
					s += float64(ep.Residual[i*ldc+j])
				}
				if ep.Clip {
					s = min(max(s, float64(ep.Min)), float64(ep.Max))
				}
			}
			want[i*n+j] = s
		}
	}
	return want
}

var packedShapes = []struct{ m, n, k int }{
	{1, 1, 1}, {1, 7, 3}, {1, 1000, 517}, {1, 80, 40}, {1, 64, 1}, {5, 17, 9}, {6, 16, 1}, {7, 33, 65}, {13, 1, 300},
	{64, 64, 64}, {100, 37, 259}, {150, 200, 270}, {37, 530, 400}, {8, 49, 770}, {20, 70, 384}, {9, 40, 768}, {3, 0, 5}, {4, 9, 0},
}

func randOperands(r *rand.Rand, ta, tb bool, m, n, k int) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	lda, ldb, ldc = ac+r.IntN(3), bc+r.IntN(3), n+r.IntN(3)
	a = randF32(r, max((ar-1)*lda+ac, 0))
	b = randF32(r, max((br-1)*ldb+bc, 0))
	c = randF32(r, max((m-1)*ldc+n, 0))
	return
}

func checkClose(t *testing.T, want []float64, got []float32, m, n, k, ldc int, msg ...any) {
	t.Helper()
	tol := 1e-5 * float64(k+2)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			// require only on a miss (or a NaN): per element it cost most of
			// the time of the larger tests.
			if d := want[i*n+j] - float64(got[i*ldc+j]); !(math.Abs(d) <= tol) {
				if !assert.InDelta(quietT{}, want[i*n+j], got[i*ldc+j], tol) {
					require.InDelta(t, want[i*n+j], got[i*ldc+j], tol, append(msg, i, j)...)
				}
			}
		}
	}
}

func TestSgemmPackedAVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(41, 42))
		for _, sh := range packedShapes {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for variant := 0; variant < 4; variant++ {
						accum := variant&1 != 0
						withBias := variant&2 != 0
						a, lda, b, ldb, c, ldc := randOperands(r, ta, tb, sh.m, sh.n, sh.k)
						c0 := append([]float32(nil), c...)
						var bias []float32
						var ep *SgemmEpilogue
						if withBias {
							bias = randF32(r, sh.m)
							ep = &SgemmEpilogue{ColBias: randF32(r, sh.n), Clip: true, Min: -0.5, Max: 2}
							if r.IntN(2) == 0 {
								ep.Residual = randF32(r, len(c))
							}
						}
						pa := PackSgemmA(ta, sh.m, sh.k, a, lda, bias)
						th := 1 + r.IntN(3)
						SgemmPackedA(pa, tb, sh.n, b, ldb, c, ldc, accum, ep, th)
						refEp := ep
						if withBias {
							refEp = &SgemmEpilogue{RowBias: bias, ColBias: ep.ColBias, Residual: ep.Residual, Clip: true, Min: -0.5, Max: 2}
						}
						want := refGemmEp(ta, tb, sh.m, sh.n, sh.k, a, lda, b, ldb, c0, ldc, accum, refEp)
						checkClose(t, want, c, sh.m, sh.n, sh.k, ldc, "%v ta=%v tb=%v variant=%d th=%d", sh, ta, tb, variant, th)
						if !withBias && F32Path() != PathGo && sh.n > 0 {
							// Same blocking and micro-kernel as Sgemm: bit-identical.
							c2 := append([]float32(nil), c0...)
							Sgemm(ta, tb, sh.m, sh.n, sh.k, a, lda, b, ldb, c2, ldc, accum, th)
							if sh.m*sh.n*sh.k >= 16*16*16 {
								if !assert.Equal(quietT{}, c2, c) {
									require.Equal(t, c2, c, "%v ta=%v tb=%v acc=%v bit-exact vs Sgemm", sh, ta, tb, accum)
								}
							}
						}
					}
				}
			}
		}
	})
}

func TestSgemmPackedBVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(43, 44))
		for _, sh := range packedShapes {
			if sh.n == 0 {
				continue
			}
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for variant := 0; variant < 4; variant++ {
						accum := variant&1 != 0
						var ep *SgemmEpilogue
						if variant&2 != 0 {
							ep = &SgemmEpilogue{RowBias: randF32(r, sh.m), ColBias: randF32(r, sh.n)}
							if r.IntN(2) == 0 {
								ep = ReluEpilogue(ep.RowBias)
							}
						}
						a, lda, b, ldb, c, ldc := randOperands(r, ta, tb, sh.m, sh.n, sh.k)
						c0 := append([]float32(nil), c...)
						pb := PackSgemmB(tb, sh.k, sh.n, b, ldb)
						th := 1 + r.IntN(3)
						SgemmPackedB(ta, sh.m, a, lda, pb, c, ldc, accum, ep, th)
						want := refGemmEp(ta, tb, sh.m, sh.n, sh.k, a, lda, b, ldb, c0, ldc, accum, ep)
						checkClose(t, want, c, sh.m, sh.n, sh.k, ldc, "%v ta=%v tb=%v variant=%d th=%d", sh, ta, tb, variant, th)
						// One row runs the matrix-vector kernels, which sum over the
						// whole of k at once: close to Sgemm, not bit-identical.
						if ep == nil && F32Path() != PathGo && sh.m*sh.n*sh.k >= 16*16*16 && sh.m > 1 {
							c2 := append([]float32(nil), c0...)
							Sgemm(ta, tb, sh.m, sh.n, sh.k, a, lda, b, ldb, c2, ldc, accum, th)
							if !assert.Equal(quietT{}, c2, c) {
								require.Equal(t, c2, c, "%v ta=%v tb=%v acc=%v bit-exact vs Sgemm", sh, ta, tb, accum)
							}
						}
					}
				}
			}
		}
	})
}

// TestSgemmPackedAFunc checks a custom packer that sees only the column ranges
// and rows it is asked for.
func TestSgemmPackedAFunc(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	m, n, k := 70, 700, 900
	a := randF32(r, m*k)
	b := randF32(r, k*n)
	bias := randF32(r, m)
	pa := PackSgemmA(false, m, k, a, k, bias)
	packer := func(dst []float32, stride, p0, kc, j0, nc int) {
		require.True(t, p0 >= 0 && kc > 0 && p0+kc <= k && j0 >= 0 && nc > 0 && j0+nc <= n)
		PackBRowMajor(false, b, n)(dst, stride, p0, kc, j0, nc)
	}
	c := make([]float32, m*n)
	SgemmPackedAFunc(pa, n, packer, c, n, false, &SgemmEpilogue{Clip: true, Min: 0, Max: 1e30}, 2)
	want := refGemmEp(false, false, m, n, k, a, k, b, n, nil, n, false, &SgemmEpilogue{RowBias: bias, Clip: true, Min: 0, Max: 1e30})
	checkClose(t, want, c, m, n, k, n)
}

// TestSgemmEpilogueMatchesSeparateOps checks the property the runtime's fusion of
// Conv + Add + Relu relies on: the fused epilogue gives bit for bit what the GEMM
// followed by a float32 add and a clamp gives, for every dispatch path and thread
// count.
func TestSgemmEpilogueMatchesSeparateOps(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(47, 48))
		for _, sh := range packedShapes {
			if sh.n == 0 {
				continue
			}
			for _, clip := range []bool{false, true} {
				a, lda, b, ldb, _, ldc := randOperands(r, false, false, sh.m, sh.n, sh.k)
				bias := randF32(r, sh.m)
				res := randF32(r, (sh.m-1)*ldc+sh.n)
				pa := PackSgemmA(false, sh.m, sh.k, a, lda, bias)
				th := 1 + r.IntN(3)
				want := make([]float32, len(res))
				SgemmPackedA(pa, false, sh.n, b, ldb, want, ldc, false, nil, th)
				for i := 0; i < sh.m; i++ {
					for j := 0; j < sh.n; j++ {
						v := want[i*ldc+j] + res[i*ldc+j]
						if clip {
							v = min(max(v, -0.25), 3)
						}
						want[i*ldc+j] = v
					}
				}
				got := make([]float32, len(res))
				SgemmPackedA(pa, false, sh.n, b, ldb, got, ldc, false, &SgemmEpilogue{Residual: res, Clip: clip, Min: -0.25, Max: 3}, th)
				for i := 0; i < sh.m; i++ {
					if !assert.Equal(quietT{}, want[i*ldc:i*ldc+sh.n], got[i*ldc:i*ldc+sh.n]) {
						require.Equal(t, want[i*ldc:i*ldc+sh.n], got[i*ldc:i*ldc+sh.n], "%v clip=%v th=%d row %d", sh, clip, th, i)
					}
				}
			}
		}
	})
}

func TestPackPanelRows(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(49, 50))
		for _, n := range []int{1, 2, 3, 7, 64, 385} {
			for _, ld := range []int{16, 17, 49, 3136} {
				src := randF32(r, (n-1)*ld+16+r.IntN(5))
				dst := make([]float32, 16*n)
				PackPanelRows(dst, src, ld, n)
				for i := 0; i < n; i++ {
					if !assert.Equal(quietT{}, src[i*ld:i*ld+16], dst[16*i:16*i+16]) {
						require.Equal(t, src[i*ld:i*ld+16], dst[16*i:16*i+16], "n=%d ld=%d row %d", n, ld, i)
					}
				}
			}
		}
		require.Panics(t, func() { PackPanelRows(make([]float32, 32), make([]float32, 20), 16, 2) })
	})
}
