package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQConvDilatedWidthVsReference checks convolutions dilated in width (run
// as undilated convolutions of the width phases, qconv_dilated.go) bit for
// bit against the direct definition: adaptive_odd's layer, random shapes
// with dilations 2-5 in width and 1-3 in height, height strides, asymmetric
// and zero pads, channel counts off and on multiples of 4, batch 1-2, both
// requantizations, three input zero points, 1-3 threads, every int8 path.
func TestQConvDilatedWidthVsReference(t *testing.T) {
	cases := []ConvShape{
		{N: 1, H: 60, W: 84, C: 16, OC: 16, KH: 3, KW: 3, PadTop: 4, PadLeft: 4, PadBottom: 4, PadRight: 4, DilH: 4, DilW: 4},
		{N: 2, H: 9, W: 13, C: 3, OC: 5, KH: 3, KW: 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilH: 2, DilW: 2},
	}
	r := rand.New(rand.NewPCG(41, 42))
	for len(cases) < 40 {
		s := ConvShape{N: 1 + r.IntN(2), H: 3 + r.IntN(14), W: 8 + r.IntN(30), C: 1 + r.IntN(40), OC: 1 + r.IntN(40),
			KH: 1 + r.IntN(3), KW: 2 + r.IntN(3), StrideH: 1 + r.IntN(2), DilH: 1 + r.IntN(3), DilW: 2 + r.IntN(4),
			PadTop: r.IntN(4), PadBottom: r.IntN(4), PadLeft: r.IntN(7), PadRight: r.IntN(7)}
		if s.Validate() != nil || !dilatedWidthFits(s) {
			continue
		}
		cases = append(cases, s)
	}
	forEachPath(t, func(t *testing.T) {
		for ci, s := range cases {
			require.NoError(t, s.Validate())
			require.True(t, dilatedWidthFits(s), "case %d %+v", ci, s)
			w := randI8(r, s.OC*s.C*s.KH*s.KW, -127, 127)
			bias := randI32(r, s.OC, 1<<12)
			in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
			k := s.C * s.KH * s.KW
			scales := make([]float64, s.OC)
			for i := range scales {
				scales[i] = 1 / (40 * math.Sqrt(float64(k))) * (0.5 + r.Float64())
			}
			for _, zp := range []int32{-128, 0, 17} {
				pw, err := PackQConv(s, w, bias, zp)
				require.NoError(t, err)
				acc := refConvAcc(s, in, w, bias, zp)
				for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
					rq := NewRequant(mode, scales, int32(r.IntN(40)-20), -128, 127)
					want := refRequant(acc, s.OC, rq)
					for _, threads := range []int{1, 2, 3} {
						got := make([]int8, len(want)+7)
						for i := range got {
							got[i] = 99
						}
						QConv(s, in, pw, got, rq, threads)
						if !assert.Equal(quietT{}, want, got[:len(want)]) {
							require.Equal(t, want, got[:len(want)], "case %d %+v zp=%d mode=%v threads=%d", ci, s, zp, mode, threads)
						}
						require.Equal(t, []int8{99, 99, 99, 99, 99, 99, 99}, got[len(want):], "no store past the output")
					}
				}
			}
		}
	})
}

// TestDilatedWidthFits pins which shapes take the width phases.
func TestDilatedWidthFits(t *testing.T) {
	base := ConvShape{N: 1, H: 20, W: 40, C: 16, OC: 16, KH: 3, KW: 3, PadLeft: 2, PadRight: 2, PadTop: 2, PadBottom: 2, DilH: 2, DilW: 2}
	tests := []struct {
		name string
		edit func(s *ConvShape)
		want bool
	}{
		{"dilated 2", func(s *ConvShape) {}, true},
		{"not dilated in width", func(s *ConvShape) { s.DilW = 1 }, false},
		{"dilated in height only", func(s *ConvShape) { s.DilW = 0 }, false},
		{"width stride 2", func(s *ConvShape) { s.StrideW = 2 }, false},
		{"height stride 2", func(s *ConvShape) { s.StrideH = 2 }, true},
		{"grouped", func(s *ConvShape) { s.Groups = 2 }, false},
		{"depthwise", func(s *ConvShape) { s.Groups = 16 }, false},
		{"phase rows of 3 outputs", func(s *ConvShape) { s.W, s.DilW, s.PadLeft, s.PadRight = 12, 4, 4, 4 }, false},
		{"phase rows of 4 outputs", func(s *ConvShape) { s.W, s.DilW, s.PadLeft, s.PadRight = 16, 4, 4, 4 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.edit(&s)
			require.NoError(t, s.Validate())
			assert.Equal(t, tc.want, dilatedWidthFits(s))
		})
	}
}
