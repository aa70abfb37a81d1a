package kernels

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmShiftedVsReference checks the in-place-B GEMM against a float64
// reference on random offsets (overlapping rows, as convolution taps are), with
// and without a bias row and a clamp, in both thread splits, on every path.
func TestSgemmShiftedVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(45, 46))
		for _, sh := range packedShapes {
			for variant := 0; variant < 4; variant++ {
				withBias, clip := variant&1 != 0, variant&2 != 0
				m, n, k := sh.m, sh.n, sh.k
				nPad := (n + 15) / 16 * 16
				span := 3*n + 40
				x := randF32(r, span+nPad+16)
				ones := len(x)
				var bias []float32
				kt := k
				if withBias {
					bias = randF32(r, m)
					kt++
					x = append(x, make([]float32, nPad)...)
					for i := ones; i < len(x); i++ {
						x[i] = 1
					}
				}
				off := make([]int32, kt)
				for p := 0; p < k; p++ {
					off[p] = int32(r.IntN(span))
				}
				if withBias {
					off[k] = int32(ones)
				}
				a := randF32(r, m*k)
				pa := PackSgemmA(false, m, k, a, k, bias)
				lo, hi := float32(-0.5), float32(2)
				th := 1 + r.IntN(3)
				got := make([]float32, m*n)
				var mu sync.Mutex
				seen := make([]int, m*n)
				SgemmShifted(pa, x, off, n, clip, lo, hi, th, func(cb []float32, ldc, r0, r1, j0, nc int) {
					mu.Lock()
					defer mu.Unlock()
					for i := r0; i < r1; i++ {
						for j := j0; j < j0+nc; j++ {
							got[i*n+j] = cb[(i-r0)*ldc+j-j0]
							seen[i*n+j]++
						}
					}
				})
				msg := fmt.Sprintf("%v bias=%v clip=%v threads=%d", sh, withBias, clip, th)
				for i, s := range seen {
					if !assert.Equal(quietT{}, 1, s) {
						require.Equal(t, 1, s, "%s: element %d stored %d times", msg, i, s)
					}
				}
				want := make([]float64, m*n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var s float64
						for p := 0; p < k; p++ {
							s += float64(a[i*k+p]) * float64(x[int(off[p])+j])
						}
						if withBias {
							s += float64(bias[i])
						}
						if clip {
							s = min(max(s, float64(lo)), float64(hi))
						}
						want[i*n+j] = s
					}
				}
				checkClose(t, want, got, m, n, k, n, msg)
			}
		}
	})
}

func TestSgemmShiftedRejectsBadOffsets(t *testing.T) {
	pa := PackSgemmA(false, 2, 3, make([]float32, 6), 3, nil)
	x := make([]float32, 40)
	store := func([]float32, int, int, int, int, int) {}
	require.Panics(t, func() { SgemmShifted(pa, x, []int32{0, 1}, 8, false, 0, 0, 1, store) }, "too few offsets")
	require.Panics(t, func() { SgemmShifted(pa, x, []int32{0, 1, 25}, 8, false, 0, 0, 1, store) }, "row past the end")
	require.Panics(t, func() { SgemmShifted(pa, x, []int32{0, -1, 2}, 8, false, 0, 0, 1, store) }, "negative offset")
	require.NotPanics(t, func() { SgemmShifted(pa, x, []int32{0, 1, 24}, 8, false, 0, 0, 1, store) })
}
