package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRoiBinsF32 checks RoiAlign's bin average against its definition written
// out (each product and sum rounded to float32, ONNX Runtime's order), bit for
// bit, on every path: channel counts around the vector widths (four vectors,
// one vector, the Go tail), an output stride wider than c, 1-4 samples of
// four corners per bin, samples outside the map (offset 0, weights 0) and
// equal corners at the map's edge, and values that cancel.
func TestRoiBinsF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, tc := range []struct{ n, per, c, ostride, pix int }{
			{1, 1, 1, 1, 2}, {3, 4, 3, 5, 6}, {49, 4, 256, 256, 400}, {7, 2, 16, 16, 9}, {5, 1, 64, 70, 12},
			{4, 3, 80, 80, 10}, {6, 4, 17, 17, 7}, {2, 9, 72, 96, 30}, {9, 1, 8, 8, 4}, {3, 2, 130, 131, 5},
		} {
			t.Run(fmt.Sprintf("n%d per%d c%d ostride%d", tc.n, tc.per, tc.c, tc.ostride), func(t *testing.T) {
				src := randF32(r, tc.pix*tc.c)
				for i := range src {
					src[i] *= float32(1 + 1000*(i%3))
				}
				k := tc.n * tc.per
				off := make([]int64, 4*k)
				w := make([]float32, 4*k)
				for s := 0; s < k; s++ {
					switch s % 5 {
					case 3: // outside the map
						continue
					case 4: // clamped at the edge: all corners one pixel
						p := int64(r.IntN(tc.pix) * tc.c)
						off[4*s], off[4*s+1], off[4*s+2], off[4*s+3] = p, p, p, p
					default:
						for j := 0; j < 4; j++ {
							off[4*s+j] = int64(r.IntN(tc.pix) * tc.c)
						}
					}
					ly, lx := r.Float32(), r.Float32()
					hy, hx := 1-ly, 1-lx
					w[4*s], w[4*s+1], w[4*s+2], w[4*s+3] = hy*hx, hy*lx, ly*hx, ly*lx
				}
				count := float32(max(tc.per, 1))
				dst := make([]float32, (tc.n-1)*tc.ostride+tc.c+3)
				for i := range dst {
					dst[i] = -7
				}
				RoiBinsF32(dst, tc.ostride, src, off, w, tc.n, tc.per, tc.c, count)
				for b := 0; b < tc.n; b++ {
					for i := 0; i < tc.c; i++ {
						var acc float32
						for s := b * tc.per; s < (b+1)*tc.per; s++ {
							var v float32
							for j := 0; j < 4; j++ {
								p := w[4*s+j] * src[int(off[4*s+j])+i]
								if j == 0 {
									v = p
								} else {
									v = v + p
								}
							}
							acc = acc + v
						}
						want := acc / count
						got := dst[b*tc.ostride+i]
						if math.Float32bits(want) != math.Float32bits(got) {
							require.Equal(t, want, got, "bin %d channel %d", b, i)
						}
					}
					for i := tc.c; i < tc.ostride && b*tc.ostride+i < len(dst); i++ {
						require.Equal(t, float32(-7), dst[b*tc.ostride+i], "stride padding untouched")
					}
				}
				for i := (tc.n-1)*tc.ostride + tc.c; i < len(dst); i++ {
					require.Equal(t, float32(-7), dst[i], "past the last bin")
				}
			})
		}
	})
}

func TestRoiBinsF32Bounds(t *testing.T) {
	src := make([]float32, 32)
	dst := make([]float32, 16)
	require.Panics(t, func() { RoiBinsF32(dst, 16, src, []int64{0, 0, 0, 20}, make([]float32, 4), 1, 1, 16, 1) })
	require.Panics(t, func() { RoiBinsF32(dst, 16, src, []int64{0, 0, 0}, make([]float32, 4), 1, 1, 16, 1) })
	for i := range dst {
		dst[i] = -7
	}
	require.NotPanics(t, func() { RoiBinsF32(dst, 16, src, nil, nil, 1, 0, 16, 1) })
	require.Equal(t, make([]float32, 16), dst, "no samples: 0 / count")
}
