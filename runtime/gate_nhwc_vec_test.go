package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGateNHWCAgainstReference checks gateNHWC (on kernels.AffineRowsF32)
// against the plain product x·g per pixel and channel: channel counts below,
// at and across the 16-lane blocks, padded and wider pixel strides, two
// images whose pixel ranges a thread's chunk may straddle, 1 and 2 threads,
// with NaN, ±Inf and -0 among the inputs. Values must be equal (a -0 product
// may come out +0; NaN stays NaN), and the stride's padding is not written.
func TestGateNHWCAgainstReference(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, c := range []int{1, 5, 16, 20, 40, 100, 333} {
		for _, st := range []int{pixelStride(c), c + 3} {
			for _, hw := range []int{1, 7, 196} {
				for _, threads := range []int{1, 2} {
					n := 2
					pixels := n * hw
					x := make([]float32, pixels*st)
					g := make([]float32, n*c)
					for i := range x {
						x[i] = float32(r.NormFloat64())
					}
					for i := range g {
						g[i] = float32(r.Float64())
					}
					x[0], x[st-1] = float32(math.NaN()), float32(math.Inf(-1))
					if len(x) > 2 {
						x[1] = float32(math.Copysign(0, -1))
					}
					g[n*c-1] = float32(math.Inf(1))
					y := make([]float32, len(x))
					const pad = float32(-7)
					for i := range y {
						y[i] = pad
					}
					gateNHWC(x, g, y, c, st, pixels, hw, threads)
					for p := 0; p < pixels; p++ {
						for ch := 0; ch < st; ch++ {
							got := y[p*st+ch]
							if ch >= c {
								require.Equal(t, pad, got, "padding written: c %d st %d pixel %d", c, st, p)
								continue
							}
							want := x[p*st+ch] * g[p/hw*c+ch]
							if math.IsNaN(float64(want)) {
								require.True(t, math.IsNaN(float64(got)), "c %d st %d hw %d pixel %d channel %d: %v, want NaN", c, st, hw, p, ch, got)
								continue
							}
							require.True(t, want == got, "c %d st %d hw %d threads %d pixel %d channel %d: %v, want %v", c, st, hw, threads, p, ch, got, want)
						}
					}
				}
			}
		}
	}
}
