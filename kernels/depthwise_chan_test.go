package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDepthwiseF32Channels checks the channel-block split against the float64
// reference and bit for bit against one thread (the row path) on the small
// maps it is chosen for: 14x14 and 7x7, 3x3 and 5x5, stride 2, channel counts
// that are and are not multiples of 16 (a partial last block), two images,
// padded pixel strides in and out, every epilogue, 2 and 3 threads, on every
// dispatch path.
func TestDepthwiseF32Channels(t *testing.T) {
	pad := func(k int) (int, int) { return k / 2, k / 2 }
	type tc struct {
		n, h, c, k, stride int
		split              bool // at 2 threads
	}
	cases := []tc{
		{1, 14, 192, 3, 1, true}, {1, 14, 240, 5, 1, true}, {2, 7, 160, 3, 1, true}, {1, 14, 72, 5, 2, false},
		{1, 7, 200, 5, 1, true}, {1, 28, 96, 5, 1, false}, {1, 9, 64, 3, 1, false}, {1, 14, 328, 5, 2, true},
	}
	eps := []F32Epilogue{NoEpilogue, {Lo: 0, Hi: 6}, {Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActSiLU},
		{Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActHardSwish}, {Lo: -1, Hi: 1, Act: ActSigmoid}}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		for ci, c := range cases {
			pt, pl := pad(c.k)
			s := ConvShape{N: c.n, H: c.h, W: c.h, C: c.c, OC: c.c, KH: c.k, KW: c.k, StrideH: c.stride, StrideW: c.stride,
				PadTop: pt, PadLeft: pl, PadBottom: pt, PadRight: pl, Groups: c.c}
			taps := c.k * c.k
			w, bias := randF32(r, c.c*taps), randF32(r, c.c)
			x := randF32(r, c.n*c.c*c.h*c.h)
			oh, ow := s.OutH(), s.OutW()
			for ei, ep := range eps {
				sx := c.c + 16*(ei%2) + (ci % 2) // padded pixel strides, some not whole vectors
				sy := (c.c+15)&^15 + 16*((ei+1)%2)
				xin := toNHWC(x, c.n, c.c, c.h*c.h, sx)
				pw := PackDWF32(c.c, 1, c.k, c.k, w, bias)
				want := refDepthwise(s, x, w, bias)
				var one []float32
				for _, threads := range []int{1, 2, 3} {
					chunk := max(1, (oh+4*threads-1)/(4*threads))
					bu := dwChannelBlock(s.norm(), pw, sx, threads, chunk, c.n*((oh+chunk-1)/chunk))
					if threads == 2 {
						require.Equal(t, c.split, bu > 0, "case %d: channel split at 2 threads", ci)
					}
					y := make([]float32, c.n*oh*ow*sy)
					for i := range y {
						y[i] = 12345 // lanes between OC and sy must stay untouched
					}
					DepthwiseF32(s, pw, xin, sx, y, sy, ep, threads)
					name := fmt.Sprintf("case %d, ep %d, %d threads (block %d units)", ci, ei, threads, bu)
					if threads == 1 {
						one = y
					} else {
						require.Equal(t, one, y, name)
					}
					for n := 0; n < c.n; n++ {
						for p := 0; p < oh*ow; p++ {
							for o := 0; o < sy; o++ {
								got := y[(n*oh*ow+p)*sy+o]
								if o >= c.c {
									require.Equal(t, float32(12345), got, name)
									continue
								}
								ref := want[(n*c.c+o)*oh*ow+p]
								ref = refAct(ep.Act, math.Min(math.Max(ref, float64(ep.Lo)), float64(ep.Hi)))
								require.InDelta(t, ref, float64(got), 1e-4*(1+math.Abs(ref)), "%s at image %d pixel %d channel %d", name, n, p, o)
							}
						}
					}
				}
			}
		}
	})
}

// TestDWWeightsBlock checks a block of the packed weights against packing
// the block's channels alone, and that it is made once.
func TestDWWeightsBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	const oc, taps = 72, 9
	w, bias := randF32(r, oc*taps), randF32(r, oc)
	pw := PackDWF32(oc, 1, 3, 3, w, bias)
	for _, b := range [][2]int{{0, 32}, {32, 64}, {64, 72}, {16, 72}} {
		got := pw.block(b[0], b[1])
		want := PackDWF32(b[1]-b[0], 1, 3, 3, w[b[0]*taps:b[1]*taps], bias[b[0]:b[1]])
		require.Equal(t, want.w, got.w, "block %v", b)
		require.Equal(t, want.bias, got.bias, "block %v", b)
		require.Equal(t, want.cp, got.cp, "block %v", b)
		require.Same(t, got, pw.block(b[0], b[1]), "block %v", b)
	}
}
