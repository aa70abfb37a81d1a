package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSgemvPackedBVsReference checks the one-row case of SgemmPackedB (a Gemm
// classifier head) on every path against a float64 reference, for whole and
// partial panels, groups of four panels and single ones, accumulate and 1-3
// threads; and, on the assembly paths, that it is bit-identical to the same
// row through SgemmRowsAct (both run the one-row kernels: zero start, one FMA
// per reduction step in order).
func TestSgemvPackedBVsReference(t *testing.T) {
	cases := []struct{ n, k int }{
		{1, 1}, {7, 3}, {16, 1}, {17, 9}, {48, 5}, {63, 64}, {64, 2}, {65, 33}, {80, 40}, {100, 259}, {1000, 517}, {130, 2048},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(61, 62))
		for _, tc := range cases {
			for _, accum := range []bool{false, true} {
				n, k := tc.n, tc.k
				a := randF32(r, k)
				w := randF32(r, k*n)
				c0 := randF32(r, n)
				c := append([]float32(nil), c0...)
				th := 1 + r.IntN(3)
				SgemmPackedB(false, 1, a, k, PackSgemmB(false, k, n, w, n), c, n, accum, nil, th)
				want := make([]float64, n)
				for j := range want {
					var s float64
					if accum {
						s = float64(c0[j])
					}
					for p := 0; p < k; p++ {
						s += float64(a[p]) * float64(w[p*n+j])
					}
					want[j] = s
				}
				msg := fmt.Sprintf("n=%d k=%d accumulate=%v threads=%d", n, k, accum, th)
				checkClose(t, want, c, 1, n, k, n, msg)
				if F32Path() == PathGo {
					continue
				}
				off := make([]int32, k)
				for p := range off {
					off[p] = int32(p)
				}
				var res []float32
				if accum {
					res = c0
				}
				rows := make([]float32, n)
				SgemmRowsAct(PackRowsB(k, n, w, n), a, k, off, 1, nil, rows, n, res, false, 0, 0, ActNone, th)
				if !assert.Equal(quietT{}, rows, c) {
					require.Equal(t, rows, c, msg+" bit-exact vs SgemmRowsAct")
				}
			}
		}
	})
}

// BenchmarkSgemvPackedB is the classifier head of SgemmPackedB (one input
// row, K×N weights streamed once): ResNet-50, MobileNetV2/EfficientNet-B0 and
// ViT-B/16 heads.
func BenchmarkSgemvPackedB(b *testing.B) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, s := range []struct{ k, n int }{{2048, 1000}, {1280, 1000}, {768, 1000}} {
		a := randF32(r, s.k)
		pb := PackSgemmB(false, s.k, s.n, randF32(r, s.k*s.n), s.n)
		c := make([]float32, s.n)
		for _, th := range benchThreads() {
			b.Run(fmt.Sprintf("%s/%dx%d/threads=%d", F32Path(), s.k, s.n, th), func(b *testing.B) {
				for b.Loop() {
					SgemmPackedB(false, 1, a, s.k, pb, c, s.n, false, nil, th)
				}
				reportGOPS(b, 2*float64(s.k)*float64(s.n))
			})
		}
	}
}
