package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterleavePairsF32 checks the float32 interleave against its
// definition on every path: run lengths around the 16-pair step, output
// widths from 2h (no padding) to 2h + 17 (past the vector kernel's last run,
// where it falls back to Go), strides wider than the runs (floats between
// them must stay untouched, NaN payloads and -0 must move bit for bit) and
// pixel counts 0-5.
func TestInterleavePairsF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 3))
		for _, h := range []int{0, 1, 3, 7, 8, 12, 15, 16, 17, 24, 31, 32, 48, 50, 256} {
			for _, pad := range []int{0, 1, 8, 15, 16, 17} {
				for n := 0; n <= 5; n++ {
					w := 2*h + pad
					if w == 0 {
						continue
					}
					sa, sb, sy := h+r.IntN(5), h+r.IntN(5), w+r.IntN(5)
					a := randF32(r, max(1, n*sa))
					b := randF32(r, max(1, n*sb))
					y := randF32(r, max(1, n*sy))
					if len(a) > 2 {
						a[1] = float32(math.Copysign(0, -1))
						a[2] = math.Float32frombits(0x7fc00123)
					}
					want := append([]float32(nil), y...)
					for p := 0; p < n; p++ {
						for j := 0; j < h; j++ {
							want[p*sy+2*j], want[p*sy+2*j+1] = a[p*sa+j], b[p*sb+j]
						}
						for j := 2 * h; j < w; j++ {
							want[p*sy+j] = 0
						}
					}
					InterleavePairsF32(y, sy, w, a, sa, b, sb, h, n)
					if !assert.Equal(quietT{}, f32Bits(want), f32Bits(y)) {
						require.Equal(t, f32Bits(want), f32Bits(y), fmt.Sprintf("h=%d w=%d n=%d", h, w, n))
					}
				}
			}
		}
	})
}

// TestInterleavePairsF32Bounds: buffers too short for the pixels, or an
// output narrower than the pairs, are refused before anything is written.
func TestInterleavePairsF32Bounds(t *testing.T) {
	for _, tc := range []struct {
		name             string
		ny, na, nb, w, h int
	}{
		{"y short", 8 + 7, 16, 16, 8, 4},
		{"a short", 16, 7, 16, 8, 4},
		{"b short", 16, 16, 3, 8, 4},
		{"w below 2h", 16, 16, 16, 7, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := make([]float32, tc.ny)
			require.Panics(t, func() {
				InterleavePairsF32(y, 8, tc.w, make([]float32, tc.na), 8, make([]float32, tc.nb), 8, tc.h, 2)
			})
		})
	}
}

func f32Bits(v []float32) []uint32 {
	u := make([]uint32, len(v))
	for i, f := range v {
		u[i] = math.Float32bits(f)
	}
	return u
}

// BenchmarkInterleavePairsF32: ShuffleNetV2-0.5's unit boundaries (halves of
// 24, 48 and 96 channels at 28x28, 14x14 and 7x7), channel padding included.
func BenchmarkInterleavePairsF32(b *testing.B) {
	for _, tc := range []struct{ h, pixels int }{{12, 28 * 28}, {24, 14 * 14}, {48, 7 * 7}} {
		w := (2*tc.h + 15) / 16 * 16
		x := make([]float32, tc.pixels*2*tc.h)
		y := make([]float32, tc.pixels*w)
		b.Run(fmt.Sprintf("h=%d/%s", tc.h, F32Path()), func(b *testing.B) {
			for b.Loop() {
				InterleavePairsF32(y, w, w, x, 2*tc.h, x[tc.h:], 2*tc.h, tc.h, tc.pixels)
			}
		})
	}
}
