package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDepthwiseF32Padded checks DepthwiseF32Padded and NewDWRowsF32Padded
// against DepthwiseF32: lanes 0..OC-1 bit for bit and within float tolerance
// of the float64 reference, the padding lanes OC..cp-1 written with the
// zero-weight channels' values (finite here: the input's padding is finite),
// nothing past the pixels touched; channel counts below, at and above the
// vector widths (MobileNetV3's 72 and 120, EfficientNet's 40 and 200),
// input strides that read in place and that go through the ring, output
// strides equal to the packed count (padded stores) and wider (DepthwiseF32's
// stores), every epilogue, 1-3 threads, bands of one to several rows, on
// every dispatch path.
func TestDepthwiseF32Padded(t *testing.T) {
	shapes := []ConvShape{
		{N: 1, H: 12, W: 40, C: 72, OC: 72, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 2, H: 13, W: 45, C: 72, OC: 72, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		{N: 1, H: 9, W: 9, C: 120, OC: 120, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		{N: 1, H: 7, W: 7, C: 200, OC: 200, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 1, H: 10, W: 11, C: 40, OC: 40, KH: 3, KW: 2, StrideH: 1, StrideW: 2, DilH: 2, DilW: 2, PadTop: 2, PadLeft: 1, PadBottom: 2, PadRight: 1},
		{N: 1, H: 6, W: 5, C: 8, OC: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 0, PadLeft: 1, PadBottom: 2, PadRight: 0},
		{N: 1, H: 8, W: 8, C: 32, OC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
	}
	eps := []F32Epilogue{NoEpilogue, {Lo: 0, Hi: NoEpilogue.Hi}, {Lo: 0, Hi: 6}, {Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActSiLU},
		{Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActHardSwish}, {Lo: -1, Hi: 1, Act: ActSigmoid}}
	const poison = 12345
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for si, s := range shapes {
			s.Groups = s.C
			taps := s.KH * s.KW
			w, bias := randF32(r, s.OC*taps), randF32(r, s.OC)
			x := randF32(r, s.N*s.C*s.H*s.W)
			want := refDepthwise(s, x, w, bias)
			pw := PackDWF32(s.OC, 1, s.KH, s.KW, w, bias)
			cp := (s.C + 15) &^ 15
			oh, ow := s.OutH(), s.OutW()
			for _, sx := range []int{cp, cp + 16} {
				xin := toNHWC(x, s.N, s.C, s.H*s.W, sx)
				for i := range xin { // finite garbage in the input's padding lanes
					if i%sx >= s.C {
						xin[i] = float32(i%7) - 3
					}
				}
				for v, ep := range eps {
					for _, sy := range []int{cp, cp + 16} {
						name := fmt.Sprintf("shape %d, sx %d, sy %d, ep %+v", si, sx, sy, ep)
						threads := 1 + (v+si)%3
						ref := make([]float32, s.N*oh*ow*sy)
						DepthwiseF32(s, pw, xin, sx, ref, sy, ep, threads)
						got := make([]float32, s.N*oh*ow*sy+16)
						for i := range got {
							got[i] = poison
						}
						DepthwiseF32Padded(s, pw, xin, sx, got, sy, ep, threads)
						// Bands through NewDWRowsF32Padded, row counts 1, 2, 3, ...
						bands := make([]float32, s.N*oh*ow*sy)
						d := NewDWRowsF32Padded(s, pw, xin, sx, sy, ep)
						for n := 0; n < s.N; n++ {
							for y0, bh := 0, 1; y0 < oh; y0, bh = y0+bh, bh+1 {
								y1 := min(oh, y0+bh)
								d.Rows(n, y0, y1, bands[(n*oh+y0)*ow*sy:])
							}
						}
						d.Release()
						if !assert.Equal(quietT{}, float32(poison), got[len(got)-1]) {
							require.Equal(t, float32(poison), got[len(got)-1], "%s: stores past the last pixel", name)
						}
						for q := 0; q < s.N*oh*ow; q++ {
							for o := 0; o < sy; o++ {
								g, b := got[q*sy+o], bands[q*sy+o]
								switch {
								case o < s.OC:
									if !assert.Equal(quietT{}, math.Float32bits(ref[q*sy+o]), math.Float32bits(g)) {
										require.Equal(t, math.Float32bits(ref[q*sy+o]), math.Float32bits(g), "%s at pixel %d channel %d", name, q, o)
									}
									if !assert.Equal(quietT{}, math.Float32bits(g), math.Float32bits(b)) {
										require.Equal(t, math.Float32bits(g), math.Float32bits(b), "%s bands at pixel %d channel %d", name, q, o)
									}
									n, p := q/(oh*ow), q%(oh*ow)
									e := want[(n*s.OC+o)*oh*ow+p]
									e = refAct(ep.Act, math.Min(math.Max(e, float64(ep.Lo)), float64(ep.Hi)))
									if !assert.InDelta(quietT{}, e, float64(g), 1e-4*(1+math.Abs(e))) {
										require.InDelta(t, e, float64(g), 1e-4*(1+math.Abs(e)), "%s at pixel %d channel %d", name, q, o)
									}
								case o < cp && sy == cp:
									if !assert.False(quietT{}, math.IsNaN(float64(g)) || math.IsInf(float64(g), 0)) {
										require.False(t, math.IsNaN(float64(g)) || math.IsInf(float64(g), 0), "%s: padding lane %d of pixel %d is %v", name, o, q, g)
									}
								default: // DepthwiseF32's stores: padding untouched
									if !assert.Equal(quietT{}, float32(poison), g) {
										require.Equal(t, float32(poison), g, "%s: lane %d of pixel %d written", name, o, q)
									}
								}
							}
						}
					}
				}
			}
		}
	})
}
