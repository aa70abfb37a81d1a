package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmStemVsReference checks the 12-row stem tiles against a float64
// reference on every path: 16 and 32 columns (32 where PackRowsB makes
// 32-wide panels), input strides 1 and 2, one to forty tiles (more than one
// assembly call), C rows at the panel's width and wider, bias or none, the
// clamp and HardSwish, and that rows past the tiles are left alone.
func TestSgemmStemVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, n := range []int{16, 32} {
			for _, xs := range []int{1, 2} {
				t.Run(fmt.Sprintf("n%d_s%d", n, xs), func(t *testing.T) { testSgemmStem(t, n, xs) })
			}
		}
	})
}

func testSgemmStem(t *testing.T, n, xs int) {
	if PackRowsB(1, n, make([]float32, n), n).NR() != n {
		t.Skipf("no %d-wide panels on this path", n)
	}
	{
		r := rand.New(rand.NewPCG(16, uint64(n+xs)))
		for _, k := range []int{1, 27, 75, 108} {
			for _, ntiles := range []int{1, 3, 40} {
				for variant := 0; variant < 8; variant++ {
					withBias, clip := variant&1 != 0, variant&2 != 0
					act := ActNone
					if variant&4 != 0 {
						act = ActHardSwish
						if variant&1 == 0 {
							act = LeakyReluAct(0.1)
						}
					}
					ldc := n + 16*(variant%2)
					t.Run(fmt.Sprintf("k%d_t%d_v%d", k, ntiles, variant), func(t *testing.T) {
						rows := 12 * ntiles
						off := make([]int32, k)
						maxOff := 0
						for p := range off {
							off[p] = int32(r.IntN(3*k + 7))
							maxOff = max(maxOff, int(off[p]))
						}
						a0 := r.IntN(9)
						x := randF32(r, a0+xs*(rows-1)+maxOff+1)
						w := randF32(r, k*n)
						var bias []float32
						if withBias {
							bias = randF32(r, n)
						}
						c0 := r.IntN(5)
						c := randF32(r, c0+rows*ldc+n)
						before := append([]float32(nil), c...)
						lo, hi := float32(-0.5), float32(0.75)
						SgemmStem(PackRowsB(k, n, w, n), x, a0, xs, off, bias, c, c0, ldc, ntiles, clip, lo, hi, act)
						tol := 1e-5 * math.Sqrt(float64(k))
						for i := 0; i < rows; i++ {
							want := make([]float32, n)
							for j := range want {
								var s float64
								if bias != nil {
									s = float64(bias[j])
								}
								for p := 0; p < k; p++ {
									s += float64(x[a0+xs*i+int(off[p])]) * float64(w[p*n+j])
								}
								v := float32(s)
								if clip {
									v = min(max(v, lo), hi)
								}
								want[j] = v
							}
							ActF32(act, want, want)
							got := c[c0+i*ldc : c0+i*ldc+n]
							for j := range got {
								if !assert.InDelta(quietT{}, want[j], got[j], tol*(1+math.Abs(float64(want[j])))) {
									require.InDelta(t, want[j], got[j], tol*(1+math.Abs(float64(want[j]))), "row %d col %d", i, j)
								}
							}
							if ldc > n {
								if !assert.Equal(quietT{}, before[c0+i*ldc+n:c0+(i+1)*ldc], c[c0+i*ldc+n:c0+(i+1)*ldc]) {
									require.Equal(t, before[c0+i*ldc+n:c0+(i+1)*ldc], c[c0+i*ldc+n:c0+(i+1)*ldc], "row %d: columns past %d", i, n)
								}
							}
						}
						require.Equal(t, before[c0+rows*ldc:], c[c0+rows*ldc:], "past the last row")
					})
				}
			}
		}
	}
}

// TestSgemmStem16Rejects checks the argument checks.
func TestSgemmStem16Rejects(t *testing.T) {
	b := PackRowsB(2, 16, make([]float32, 32), 16)
	x, c := make([]float32, 30), make([]float32, 12*16)
	require.NotPanics(t, func() { SgemmStem16(b, x, 0, []int32{0, 7}, nil, c, 0, 16, 1, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmStem16(b, x, 0, []int32{0, 8}, nil, c, 0, 16, 1, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmStem16(b, x, 0, []int32{0, -1}, nil, c, 0, 16, 1, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmStem16(b, x, 0, []int32{0, 1}, nil, c, 1, 16, 1, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmStem16(b, x, 0, []int32{0}, nil, c, 0, 16, 1, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmStem(b, x, 0, 3, []int32{0, 1}, nil, c, 0, 16, 1, false, 0, 0, ActNone) })
	require.NotPanics(t, func() { SgemmStem(b, x, 0, 1, []int32{0, 18}, nil, c, 0, 16, 1, false, 0, 0, ActNone) })
	require.Panics(t, func() { SgemmStem(b, x, 0, 1, []int32{0, 19}, nil, c, 0, 16, 1, false, 0, 0, ActNone) })
	require.Panics(t, func() {
		SgemmStem16(PackRowsB(2, 32, make([]float32, 64), 32), x, 0, []int32{0, 1}, nil, c, 0, 16, 1, false, 0, 0, ActNone)
	})
}
