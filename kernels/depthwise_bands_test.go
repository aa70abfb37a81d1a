package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDWRowsF32Bands checks that computing a depthwise convolution band by
// band with DWRowsF32 (bands of 1-5 rows in order, images in order, one
// cursor, NCHW input or channels-last at a padded stride with NaN in the
// padding) gives exactly the output of DepthwiseF32, on every path; and that
// DepthwiseF32 itself matches the float64 reference there.
func TestDWRowsF32Bands(t *testing.T) {
	shapes := []ConvShape{
		{N: 2, H: 11, W: 9, C: 24, OC: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 1, H: 15, W: 15, C: 40, OC: 40, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		{N: 1, H: 7, W: 7, C: 96, OC: 96, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 1, H: 6, W: 5, C: 5, OC: 10, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 0, PadLeft: 1, PadBottom: 2, PadRight: 0},
	}
	eps := []F32Epilogue{NoEpilogue, {Lo: 0, Hi: 6}, {Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActSiLU}}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for si, s := range shapes {
			s.Groups = s.C
			w := randF32(r, s.OC*s.KH*s.KW)
			bias := randF32(r, s.OC)
			x := randF32(r, s.N*s.C*s.H*s.W)
			want64 := refDepthwise(s, x, w, bias)
			pw := PackDWF32(s.OC, s.OC/s.C, s.KH, s.KW, w, bias)
			oh, ow := s.OutH(), s.OutW()
			for _, ep := range eps {
				sy := s.OC + si%2*3
				want := make([]float32, s.N*oh*ow*sy)
				DepthwiseF32(s, pw, x, 0, want, sy, ep, 1+si%2)
				for n := 0; n < s.N; n++ {
					for o := 0; o < s.OC; o++ {
						for q := 0; q < oh*ow; q++ {
							v := want64[(n*s.OC+o)*oh*ow+q]
							if ep.Act == ActNone {
								v = min(max(v, float64(ep.Lo)), float64(ep.Hi))
							} else {
								v = refAct(ep.Act, v)
							}
							if !assert.InDelta(quietT{}, v, float64(want[(n*oh*ow+q)*sy+o]), 1e-4) {
								require.InDelta(t, v, float64(want[(n*oh*ow+q)*sy+o]), 1e-4, "shape %d", si)
							}
						}
					}
				}
				// The same input channels-last at the padded stride, NaN in
				// the padding channels (not read).
				xs, sx := x, 0
				if si%2 == 0 {
					sx = (s.C + 15) &^ 15
					if s.C == sx {
						sx += 16
					}
					xs = make([]float32, s.N*s.H*s.W*sx)
					for i := range xs {
						xs[i] = float32(math.NaN())
					}
					for n := 0; n < s.N; n++ {
						for c := 0; c < s.C; c++ {
							for q := 0; q < s.H*s.W; q++ {
								xs[(n*s.H*s.W+q)*sx+c] = x[(n*s.C+c)*s.H*s.W+q]
							}
						}
					}
				}
				d := NewDWRowsF32(s, pw, xs, sx, sy, ep)
				got := make([]float32, len(want))
				for n := 0; n < s.N; n++ {
					for oy := 0; oy < oh; {
						b := min(oh-oy, 1+r.IntN(5))
						band := make([]float32, b*ow*sy)
						d.Rows(n, oy, oy+b, band)
						for i := 0; i < b*ow; i++ {
							copy(got[((n*oh+oy)*ow+i)*sy:][:s.OC], band[i*sy:i*sy+s.OC])
						}
						oy += b
					}
				}
				d.Release()
				if !assert.Equal(quietT{}, want, got) {
					require.Equal(t, want, got, fmt.Sprintf("shape %d %+v", si, ep))
				}
			}
		}
	})
}
