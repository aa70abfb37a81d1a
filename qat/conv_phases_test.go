package qat

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPhasePlanesMatchDefinition checks the phase layout of strided convolutions
// (fill, and refill over a previous image, with the paired pass of sw = 2) against
// the definition: plane (a, b) of channel ci holds padded pixel (r·sh+a, c·sw+b) at
// (r, c), zero in the padding, and planes no tap reads zero.
func TestPhasePlanesMatchDefinition(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, geo := range []convGeom{
		{c: 2, oc: 3, group: 1, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
		{c: 2, oc: 3, group: 1, kh: 1, kw: 1, sh: 2, sw: 2, dh: 1, dw: 1},
		{c: 1, oc: 2, group: 1, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1},
		{c: 3, oc: 2, group: 1, kh: 2, kw: 3, sh: 1, sw: 2, dh: 1, dw: 2, pt: 0, pl: 2, pb: 1, pr: 0},
		{c: 2, oc: 2, group: 2, kh: 3, kw: 2, sh: 3, sw: 2, dh: 2, dw: 1, pt: 2, pl: 0, pb: 1, pr: 1},
		{c: 2, oc: 2, group: 1, kh: 3, kw: 3, sh: 2, sw: 3, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1},
	} {
		for _, hw := range [][2]int{{7, 6}, {5, 9}, {28, 28}, {14, 13}} {
			g := geo
			require.NoError(t, g.setInput([]int{2, g.c, hw[0], hw[1]}))
			t.Run(fmt.Sprintf("%dx%d s%dx%d d%dx%d p%d%d%d%d %dx%d", g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, g.pb, g.pr, g.h, g.w), func(t *testing.T) {
				s := g.shiftLayout(false)
				require.NotNil(t, s)
				x := make([]float32, 2*g.c*g.h*g.w)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				plane := s.pph * s.ppw
				want := func(img []float32) []float32 {
					w := make([]float32, s.size)
					for ci := 0; ci < g.c; ci++ {
						for a := 0; a < s.sh; a++ {
							for b := 0; b < s.sw; b++ {
								if !s.used[a*s.sw+b] {
									continue
								}
								for r := 0; r < s.pph; r++ {
									for c := 0; c < s.ppw; c++ {
										y, xc := r*s.sh+a-g.pt, c*s.sw+b-g.pl
										if y >= 0 && y < g.h && xc >= 0 && xc < g.w {
											w[ci*s.pp+(a*s.sw+b)*plane+r*s.ppw+c] = img[(ci*g.h+y)*g.w+xc]
										}
									}
								}
							}
						}
					}
					return w
				}
				var p padded
				img0, img1 := x[:g.c*g.h*g.w], x[g.c*g.h*g.w:]
				garbage := make([]float32, s.size)
				for i := range garbage {
					garbage[i] = 7
				}
				p.buf = garbage
				require.Equal(t, want(img0), p.fill(s, &g, img0), "fill")
				require.Equal(t, want(img1), p.fill(s, &g, img1), "refill over the previous image")
			})
		}
	}
}
