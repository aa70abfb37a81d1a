package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDepthwiseF32InPlaceRows checks the rows that read the input in place
// (pixel stride equal to the padded channel count; their edge pixels with the
// taps on the image only, or, where a pixel has none, on a zero-padded copy)
// bit for bit against the ring of padded rows (the same input at a wider stride, which never takes
// the in-place path) and within float tolerance against the float64
// reference: strides, dilation, asymmetric and zero padding, kernels wider
// than the padding, channels below and above 16, every epilogue, output
// strides with and without padding, 1-3 threads, on every dispatch path.
func TestDepthwiseF32InPlaceRows(t *testing.T) {
	shapes := []ConvShape{
		{N: 1, H: 12, W: 24, C: 32, OC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 2, H: 13, W: 45, C: 16, OC: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 1, H: 14, W: 44, C: 48, OC: 48, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		{N: 1, H: 15, W: 47, C: 80, OC: 80, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		{N: 1, H: 11, W: 40, C: 24, OC: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 0, PadLeft: 2, PadBottom: 2, PadRight: 0},
		{N: 1, H: 12, W: 40, C: 16, OC: 16, KH: 3, KW: 2, StrideH: 1, StrideW: 2, DilH: 2, DilW: 2, PadTop: 2, PadLeft: 1, PadBottom: 2, PadRight: 1},
		{N: 1, H: 9, W: 16, C: 130, OC: 130, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
		{N: 1, H: 10, W: 30, C: 8, OC: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		// Edge pixels whose taps all fall on the padding: the zero-padded
		// edge copies instead of the in-place edges.
		{N: 1, H: 9, W: 70, C: 24, OC: 24, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 3, PadBottom: 1, PadRight: 3},
	}
	// Rows whose edges are more than a tenth of their pixels keep the ring.
	small := ConvShape{N: 1, H: 14, W: 14, C: 48, OC: 48, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2}
	require.False(t, newDWDirect(small.norm(), 1, 48, 48, small.OutW()).ok)
	eps := []F32Epilogue{NoEpilogue, {Lo: 0, Hi: 6}, {Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActSiLU},
		{Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActHardSwish}, {Lo: -1, Hi: 1, Act: ActSigmoid}}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for si, s := range shapes {
			s.Groups = s.C
			taps := s.KH * s.KW
			w := randF32(r, s.OC*taps)
			bias := randF32(r, s.OC)
			x := randF32(r, s.N*s.C*s.H*s.W)
			want := refDepthwise(s, x, w, bias)
			pw := PackDWF32(s.OC, 1, s.KH, s.KW, w, bias)
			cp := (s.C + 15) &^ 15
			inPlace, ring := toNHWC(x, s.N, s.C, s.H*s.W, cp), toNHWC(x, s.N, s.C, s.H*s.W, cp+16)
			oh, ow := s.OutH(), s.OutW()
			if !assert.True(quietT{}, newDWDirect(s.norm(), 1, cp, cp, ow).ok) {
				require.True(t, newDWDirect(s.norm(), 1, cp, cp, ow).ok, "shape %d takes the in-place path", si)
			}
			if !assert.False(quietT{}, newDWDirect(s.norm(), 1, cp, cp+16, ow).ok) {
				require.False(t, newDWDirect(s.norm(), 1, cp, cp+16, ow).ok, "shape %d at a wider stride takes the ring", si)
			}
			for v, ep := range eps {
				for _, sy := range []int{cp, cp + 16} {
					name := fmt.Sprintf("shape %d, ep %+v, sy %d", si, ep, sy)
					threads := 1 + (v+si)%3
					got, ref := make([]float32, s.N*oh*ow*sy), make([]float32, s.N*oh*ow*sy)
					DepthwiseF32(s, pw, inPlace, cp, got, sy, ep, threads)
					DepthwiseF32(s, pw, ring, cp+16, ref, sy, ep, threads)
					if !assert.Equal(quietT{}, ref, got) {
						require.Equal(t, ref, got, name)
					}
					for n := 0; n < s.N; n++ {
						for p := 0; p < oh*ow; p++ {
							for o := 0; o < s.OC; o++ {
								e := want[(n*s.OC+o)*oh*ow+p]
								e = refAct(ep.Act, math.Min(math.Max(e, float64(ep.Lo)), float64(ep.Hi)))
								if !assert.InDelta(quietT{}, e, float64(got[(n*oh*ow+p)*sy+o]), 1e-4*(1+math.Abs(e))) {
									require.InDelta(t, e, float64(got[(n*oh*ow+p)*sy+o]), 1e-4*(1+math.Abs(e)), "%s at image %d pixel %d channel %d", name, n, p, o)
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestDWRowsInPlaceBands computes the bands of DWRowsF32 in place against the
// whole convolution through the ring: bands of one to several rows, in order,
// repeated and across images.
func TestDWRowsInPlaceBands(t *testing.T) {
	s := ConvShape{N: 2, H: 16, W: 24, C: 32, OC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 32}
	r := rand.New(rand.NewPCG(5, 6))
	w, bias, x := randF32(r, 32*9), randF32(r, 32), randF32(r, 2*32*16*24)
	pw := PackDWF32(32, 1, 3, 3, w, bias)
	inPlace, ring := toNHWC(x, 2, 32, 16*24, 32), toNHWC(x, 2, 32, 16*24, 48)
	ep := F32Epilogue{Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActSiLU}
	oh, ow := s.OutH(), s.OutW()
	want := make([]float32, 2*oh*ow*32)
	DepthwiseF32(s, pw, ring, 48, want, 32, ep, 1)
	d := NewDWRowsF32(s, pw, inPlace, 32, 32, ep)
	defer d.Release()
	require.True(t, d.dd.ok)
	for _, band := range [][3]int{{0, 0, 1}, {0, 1, 5}, {0, 5, 16}, {1, 0, 16}, {1, 3, 4}, {0, 14, 16}} {
		img, y0, y1 := band[0], band[1], band[2]
		got := make([]float32, (y1-y0)*ow*32)
		d.Rows(img, y0, y1, got)
		if !assert.Equal(quietT{}, want[(img*oh+y0)*ow*32:(img*oh+y1)*ow*32], got) {
			require.Equal(t, want[(img*oh+y0)*ow*32:(img*oh+y1)*ow*32], got, "image %d rows [%d, %d)", img, y0, y1)
		}
	}
}
