package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemmRowsPartialPanel: the columns of a partial last panel (8, 24 or
// 40 outputs on 16-wide panels, whose tiles run into scratch blocks and are
// copied out) come out bit for bit as the same columns of a product with a
// whole last panel (run in place), on every path: clamped (Relu6) or not,
// with NaN and -0 among the inputs, row counts that do and do not fill the
// last tile, 1 and 2 threads.
func TestSgemmRowsPartialPanel(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 12))
		for _, sh := range []struct{ m, k, n int }{{12544, 16, 8}, {200, 16, 24}, {97, 72, 40}, {6, 5, 8}} {
			for _, clip := range []bool{false, true} {
				for _, th := range []int{1, 2} {
					t.Run(fmt.Sprintf("%dx%dx%d/clip%v/%dthreads", sh.m, sh.k, sh.n, clip, th), func(t *testing.T) {
						m, k, n := sh.m, sh.k, sh.n
						nw := (n + 15) / 16 * 16
						x := randF32(r, m*k)
						x[1] = float32(math.NaN())
						x[k+2] = float32(math.Copysign(0, -1))
						w := randF32(r, k*nw) // k×nw; the first n columns are the product's
						wn := make([]float32, k*n)
						for p := 0; p < k; p++ {
							copy(wn[p*n:(p+1)*n], w[p*nw:p*nw+n])
						}
						bias := randF32(r, nw)
						off := make([]int32, k)
						for i := range off {
							off[i] = int32(i)
						}
						whole := make([]float32, m*nw)
						SgemmRowsAct(PackRowsB(k, nw, w, nw), x, k, off, m, bias, whole, nw, nil, clip, 0, 6, ActNone, th)
						part := make([]float32, m*nw)
						SgemmRowsAct(PackRowsB(k, n, wn, n), x, k, off, m, bias[:n], part, nw, nil, clip, 0, 6, ActNone, th)
						for i := 0; i < m; i++ {
							if !assert.Equal(quietT{}, f32Bits(whole[i*nw:i*nw+n]), f32Bits(part[i*nw:i*nw+n])) {
								require.Equal(t, f32Bits(whole[i*nw:i*nw+n]), f32Bits(part[i*nw:i*nw+n]), "row %d", i)
							}
							if !assert.Equal(quietT{}, make([]uint32, nw-n), f32Bits(part[i*nw+n:(i+1)*nw])) {
								require.Equal(t, make([]uint32, nw-n), f32Bits(part[i*nw+n:(i+1)*nw]), "row %d: columns past n written", i)
							}
						}
					})
				}
			}
		}
	})
}

// BenchmarkSgemmRowsPartialPanel: products whose last 16-wide panel is
// partial (8 and 24 outputs) beside the whole-panel ones of the same rows
// (16 and 32): MNASNet-0.5's 112x112 projection to 8 channels, 56x56 to 24.
func BenchmarkSgemmRowsPartialPanel(b *testing.B) {
	for _, tc := range []struct{ m, k, n, ldc int }{{12544, 16, 8, 8}, {12544, 16, 16, 16}, {3136, 16, 24, 32}, {3136, 16, 32, 32}} {
		x := make([]float32, tc.m*tc.k)
		w := make([]float32, tc.k*tc.n)
		for i := range w {
			w[i] = float32(i%7) * 0.1
		}
		pb := PackRowsB(tc.k, tc.n, w, tc.n)
		off := make([]int32, tc.k)
		for i := range off {
			off[i] = int32(i)
		}
		c := make([]float32, tc.m*tc.ldc)
		bias := make([]float32, tc.n)
		b.Run(fmt.Sprintf("%dx%dx%d", tc.m, tc.k, tc.n), func(b *testing.B) {
			for b.Loop() {
				SgemmRowsAct(pb, x, tc.k, off, tc.m, bias, c, tc.ldc, nil, true, 0, 6, ActNone, 1)
			}
		})
	}
}
