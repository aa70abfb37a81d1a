package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterleavePairsI8 checks the interleave against its definition on
// every path: run lengths around the 16-pair step, strides wider than the
// runs (bytes between them must stay untouched) and pixel counts 0-5.
func TestInterleavePairsI8(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 2))
		for _, h := range []int{1, 3, 12, 15, 16, 17, 24, 31, 32, 48, 50} {
			for n := 0; n <= 5; n++ {
				sa, sb, sy := h+r.IntN(5), h+r.IntN(5), 2*h+r.IntN(5)
				a := randI8(r, max(1, n*sa), -128, 127)
				b := randI8(r, max(1, n*sb), -128, 127)
				y := randI8(r, max(1, n*sy), -128, 127)
				want := append([]int8(nil), y...)
				for p := 0; p < n; p++ {
					for j := 0; j < h; j++ {
						want[p*sy+2*j], want[p*sy+2*j+1] = a[p*sa+j], b[p*sb+j]
					}
				}
				InterleavePairsI8(y, sy, a, sa, b, sb, h, n)
				if !assert.Equal(quietT{}, want, y) {
					require.Equal(t, want, y, fmt.Sprintf("h=%d n=%d", h, n))
				}
			}
		}
	})
}

func BenchmarkInterleavePairsI8(b *testing.B) {
	for _, tc := range []struct{ h, pixels int }{{12, 28 * 28}, {24, 14 * 14}, {48, 7 * 7}} {
		x := make([]int8, tc.pixels*2*tc.h)
		y := make([]int8, tc.pixels*2*tc.h)
		b.Run(fmt.Sprintf("h=%d/%s", tc.h, Int8Path()), func(b *testing.B) {
			for b.Loop() {
				InterleavePairsI8(y, 2*tc.h, x, 2*tc.h, x[tc.h:], 2*tc.h, tc.h, tc.pixels)
			}
		})
	}
}
