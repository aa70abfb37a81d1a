package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCopyPixels checks copyPixelsVec against its definition (c bytes per
// pixel copied, then zeros up to w, nothing else written): widening
// (channel padding), narrowing (its removal), runs around 32 bytes.
func TestCopyPixels(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 15))
	for _, cw := range [][2]int{{24, 32}, {3, 16}, {24, 24}, {31, 32}, {33, 64}, {40, 48}, {1, 1}, {64, 64}, {70, 96}, {16, 0}} {
		for n := 0; n <= 5; n++ {
			t.Run(fmt.Sprintf("c=%d/w=%d/n=%d", cw[0], cw[1], n), func(t *testing.T) {
				c, w := cw[0], cw[1]
				ss, ds := c+r.IntN(9), w+r.IntN(9)
				src := randI8(r, max(1, n*ss), -128, 127)
				dst := randI8(r, max(1, n*ds), -128, 127)
				want := append([]int8(nil), dst...)
				for p := 0; p < n; p++ {
					for i := 0; i < w; i++ {
						want[p*ds+i] = 0
						if i < c {
							want[p*ds+i] = src[p*ss+i]
						}
					}
				}
				if !copyPixelsVec(dst, ds, src, ss, c, w, n) {
					t.Skip("no AVX-512 BW/VL and BMI2 here")
				}
				require.Equal(t, want, dst)
			})
		}
	}
}
