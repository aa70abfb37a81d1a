package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// depthwiseByBlocks computes DepthwiseF32 as the runtime's channel-block
// split does: blocks of bw channels of one image each, on DWRowsF32 with the
// block's weights (one DWRowsF32 Reset block after block), reading x and
// writing y in place at their pixel strides.
func depthwiseByBlocks(s ConvShape, pw *DWWeightsF32, x []float32, sx int, y []float32, sy int, ep F32Epilogue, bw int) {
	s = s.norm()
	oh, ow := s.OutH(), s.OutW()
	var d DWRowsF32
	defer d.Release()
	for img := 0; img < s.N; img++ {
		for c0 := 0; c0 < s.OC; c0 += bw {
			c1 := min(s.OC, c0+bw)
			sub := s
			sub.C, sub.OC, sub.Groups = c1-c0, c1-c0, c1-c0
			d.Reset(sub, pw.Block(c0, c1), x[c0:], sx, sy, ep)
			d.Rows(img, 0, oh, y[img*oh*ow*sy+c0:])
		}
	}
}

// TestDepthwiseF32Blocks checks channel blocks against the float64
// reference and bit for bit against DepthwiseF32 on all channels at once, on
// the small maps they are used for: 14x14 and 7x7, 3x3 and 5x5, stride 2,
// channel counts that are and are not multiples of 16 (a partial last
// block), two images, padded pixel strides in and out (the blocks' pixels
// not contiguous), blocks of 16-64 channels, every epilogue, on every
// dispatch path.
func TestDepthwiseF32Blocks(t *testing.T) {
	type tc struct{ n, h, c, k, stride int }
	cases := []tc{{1, 14, 192, 3, 1}, {1, 14, 240, 5, 1}, {2, 7, 160, 3, 1}, {1, 14, 72, 5, 2}, {1, 7, 200, 5, 1}, {1, 9, 64, 3, 1}}
	eps := []F32Epilogue{NoEpilogue, {Lo: 0, Hi: 6}, {Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActSiLU},
		{Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActHardSwish}, {Lo: -1, Hi: 1, Act: ActSigmoid}}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		for ci, c := range cases {
			p := c.k / 2
			s := ConvShape{N: c.n, H: c.h, W: c.h, C: c.c, OC: c.c, KH: c.k, KW: c.k, StrideH: c.stride, StrideW: c.stride,
				PadTop: p, PadLeft: p, PadBottom: p, PadRight: p, Groups: c.c}
			taps := c.k * c.k
			w, bias := randF32(r, c.c*taps), randF32(r, c.c)
			x := randF32(r, c.n*c.c*c.h*c.h)
			oh, ow := s.OutH(), s.OutW()
			want := refDepthwise(s, x, w, bias)
			for ei, ep := range eps {
				sx := c.c + 16*(ei%2) + (ci % 2) // padded pixel strides, some not whole vectors
				sy := (c.c+15)&^15 + 16*((ei+1)%2)
				xin := toNHWC(x, c.n, c.c, c.h*c.h, sx)
				pw := PackDWF32(c.c, 1, c.k, c.k, w, bias)
				whole := make([]float32, c.n*oh*ow*sy)
				DepthwiseF32(s, pw, xin, sx, whole, sy, ep, 1)
				for _, bw := range []int{16, 32, 48, 64} {
					y := make([]float32, c.n*oh*ow*sy)
					for i := range y {
						y[i] = 12345 // lanes between OC and sy must stay untouched
					}
					depthwiseByBlocks(s, pw, xin, sx, y, sy, ep, bw)
					name := fmt.Sprintf("case %d, ep %d, blocks of %d", ci, ei, bw)
					for n := 0; n < c.n; n++ {
						for q := 0; q < oh*ow; q++ {
							for o := 0; o < sy; o++ {
								i := (n*oh*ow+q)*sy + o
								if o >= c.c {
									if !assert.Equal(quietT{}, float32(12345), y[i]) {
										require.Equal(t, float32(12345), y[i], name)
									}
									continue
								}
								if !assert.Equal(quietT{}, whole[i], y[i]) {
									require.Equal(t, whole[i], y[i], "%s at image %d pixel %d channel %d", name, n, q, o)
								}
								ref := want[(n*c.c+o)*oh*ow+q]
								ref = refAct(ep.Act, math.Min(math.Max(ref, float64(ep.Lo)), float64(ep.Hi)))
								if !assert.InDelta(quietT{}, ref, float64(y[i]), 1e-4*(1+math.Abs(ref))) {
									require.InDelta(t, ref, float64(y[i]), 1e-4*(1+math.Abs(ref)), "%s at image %d pixel %d channel %d", name, n, q, o)
								}
							}
						}
					}
				}
			}
		}
	})
	require.Panics(t, func() { PackDWF32(32, 1, 3, 3, make([]float32, 32*9), nil).Block(8, 24) })
	require.Panics(t, func() { PackDWF32(32, 2, 3, 3, make([]float32, 32*9), nil).Block(0, 16) })
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
		if !assert.Equal(quietT{}, want.w, got.w) {
			require.Equal(t, want.w, got.w, "block %v", b)
		}
		if !assert.Equal(quietT{}, want.bias, got.bias) {
			require.Equal(t, want.bias, got.bias, "block %v", b)
		}
		if !assert.Equal(quietT{}, want.cp, got.cp) {
			require.Equal(t, want.cp, got.cp, "block %v", b)
		}
		require.Same(t, got, pw.block(b[0], b[1]), "block %v", b)
	}
}
