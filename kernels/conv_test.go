package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// convCases covers the stride/pad/dilation/group combinations of ResNet,
// MobileNet v1/v2/v3, YOLO-style nets and a few odd ones.
var convCases = []struct {
	name string
	s    ConvShape
}{
	{"resnet-stem-7x7s2", ConvShape{N: 1, H: 20, W: 18, C: 3, OC: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}},
	{"resnet-3x3", ConvShape{N: 1, H: 9, W: 9, C: 64, OC: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	{"resnet-3x3s2", ConvShape{N: 2, H: 10, W: 9, C: 32, OC: 48, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	{"resnet-1x1", ConvShape{N: 2, H: 7, W: 5, C: 256, OC: 64, KH: 1, KW: 1}},
	{"resnet-1x1s2-downsample", ConvShape{N: 1, H: 8, W: 8, C: 64, OC: 128, KH: 1, KW: 1, StrideH: 2, StrideW: 2}},
	{"mobilenet-stem", ConvShape{N: 1, H: 15, W: 15, C: 3, OC: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 0, PadLeft: 0, PadBottom: 1, PadRight: 1}},
	{"mobilenet-dw3x3", ConvShape{N: 1, H: 12, W: 11, C: 32, OC: 32, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 32}},
	{"mobilenet-dw3x3s2", ConvShape{N: 2, H: 13, W: 12, C: 24, OC: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 0, PadLeft: 0, PadBottom: 1, PadRight: 1, Groups: 24}},
	{"mobilenetv3-dw5x5", ConvShape{N: 1, H: 9, W: 10, C: 40, OC: 40, KH: 5, KW: 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, Groups: 40}},
	{"mobilenetv3-dw5x5s2", ConvShape{N: 1, H: 11, W: 11, C: 72, OC: 72, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, Groups: 72}},
	{"dw-odd-channels", ConvShape{N: 1, H: 6, W: 7, C: 7, OC: 7, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 7}},
	{"dw-multiplier2", ConvShape{N: 1, H: 8, W: 8, C: 16, OC: 32, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 16}},
	{"dw-multiplier3-dil2", ConvShape{N: 1, H: 9, W: 9, C: 5, OC: 15, KH: 3, KW: 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilH: 2, DilW: 2, Groups: 5}},
	{"dw-dilated-deeplab", ConvShape{N: 1, H: 10, W: 10, C: 48, OC: 48, KH: 3, KW: 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilH: 2, DilW: 2, Groups: 48}},
	{"yolo-3x3s2-asym", ConvShape{N: 1, H: 16, W: 16, C: 16, OC: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1}},
	{"yolo-6x6s2-stem", ConvShape{N: 1, H: 20, W: 20, C: 3, OC: 16, KH: 6, KW: 6, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2}},
	{"gray-3x3-c1", ConvShape{N: 2, H: 14, W: 13, C: 1, OC: 8, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	{"c6-5x5-dilh2", ConvShape{N: 1, H: 15, W: 16, C: 6, OC: 20, KH: 5, KW: 5, StrideH: 2, PadTop: 2, PadLeft: 1, PadBottom: 3, PadRight: 2, DilH: 2}},
	{"yolo-1x1-odd", ConvShape{N: 1, H: 5, W: 6, C: 75, OC: 33, KH: 1, KW: 1}},
	{"dilated-3x3", ConvShape{N: 1, H: 11, W: 12, C: 8, OC: 20, KH: 3, KW: 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilH: 2, DilW: 2}},
	{"dilated-anisotropic", ConvShape{N: 1, H: 11, W: 12, C: 6, OC: 10, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadTop: 1, PadLeft: 0, PadBottom: 3, PadRight: 1, DilH: 3, DilW: 1}},
	{"grouped-resnext", ConvShape{N: 1, H: 7, W: 7, C: 64, OC: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 8}},
	{"grouped-shufflenet-1x1", ConvShape{N: 1, H: 6, W: 6, C: 24, OC: 36, KH: 1, KW: 1, Groups: 3}},
	{"rect-1x7", ConvShape{N: 1, H: 9, W: 9, C: 12, OC: 12, KH: 1, KW: 7, PadLeft: 3, PadRight: 3}},
	{"kernel-eq-input", ConvShape{N: 1, H: 4, W: 4, C: 9, OC: 5, KH: 4, KW: 4}},
	{"c1-grayscale", ConvShape{N: 3, H: 7, W: 7, C: 1, OC: 8, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
	{"amx-3x3s2-dil2-c64", ConvShape{N: 2, H: 12, W: 11, C: 64, OC: 40, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilH: 2, DilW: 2}},
	{"amx-rows-dilh2-n2", ConvShape{N: 2, H: 10, W: 7, C: 64, OC: 48, KH: 3, KW: 1, PadTop: 2, PadBottom: 2, DilH: 2}},
	{"amx-rows-5x5", ConvShape{N: 1, H: 9, W: 20, C: 64, OC: 40, KH: 5, KW: 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2}},
	{"amx-1x1-wide", ConvShape{N: 1, H: 4, W: 5, C: 128, OC: 1100, KH: 1, KW: 1}},
	{"amx-s2d-stem-7x7s2-odd", ConvShape{N: 2, H: 21, W: 19, C: 3, OC: 40, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}},
	{"amx-s2d-8x8s2-c4-asym", ConvShape{N: 1, H: 26, W: 30, C: 4, OC: 16, KH: 8, KW: 7, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 1, PadBottom: 0, PadRight: 3}},
	{"amx-s2d-7x7s2-c1", ConvShape{N: 1, H: 17, W: 16, C: 1, OC: 16, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}},
	{"amx-s2d-8x8s2-c2", ConvShape{N: 1, H: 20, W: 23, C: 2, OC: 24, KH: 8, KW: 8, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 2, PadBottom: 1, PadRight: 1}},
}

func TestQConvVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, tc := range convCases {
			s := tc.s
			require.NoError(t, s.Validate(), tc.name)
			sn := s.norm()
			w := randI8(r, s.OC*(s.C/sn.Groups)*s.KH*s.KW, -127, 127)
			bias := randI32(r, s.OC, 1<<12)
			in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
			for _, zp := range []int32{-128, 0, 17} {
				pw, err := PackQConv(s, w, bias, zp)
				require.NoError(t, err, tc.name)
				acc := refConvAcc(s, in, w, bias, zp)
				k := (s.C / sn.Groups) * s.KH * s.KW
				scales := make([]float64, s.OC)
				for i := range scales {
					scales[i] = 1 / (40 * math.Sqrt(float64(k))) * (0.5 + r.Float64())
				}
				for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
					rq := NewRequant(mode, scales, int32(r.IntN(40)-20), -128, 127)
					want := refRequant(acc, s.OC, rq)
					for _, threads := range []int{1, 2} {
						got := make([]int8, len(want))
						QConv(s, in, pw, got, rq, threads)
						if !assert.Equal(quietT{}, want, got) {
							require.Equal(t, want, got, "%s zp=%d mode=%v threads=%d", tc.name, zp, mode, threads)
						}
					}
				}
			}
		}
	})
}

func TestPackQConvErrors(t *testing.T) {
	s := ConvShape{N: 1, H: 4, W: 4, C: 2, OC: 2, KH: 1, KW: 1}
	_, err := PackQConv(s, []int8{1, 2, -128}, nil, 0)
	require.ErrorContains(t, err, "weights have 3 values")
	_, err = PackQConv(ConvShape{N: 1, H: 4, W: 4, C: 3, OC: 2, KH: 1, KW: 1, Groups: 2}, make([]int8, 6), nil, 0)
	require.Error(t, err)
	_, err = PackQConv(ConvShape{N: 1, H: 2, W: 2, C: 1, OC: 1, KH: 3, KW: 3}, make([]int8, 9), nil, 0)
	require.Error(t, err)
}

func TestConvF32VsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		for _, tc := range convCases {
			s := tc.s.norm()
			w := randF32(r, s.OC*(s.C/s.Groups)*s.KH*s.KW)
			bias := randF32(r, s.OC)
			in := randF32(r, s.N*s.H*s.W*s.C)
			oh, ow := s.OutH(), s.OutW()
			cg, ocg := s.C/s.Groups, s.OC/s.Groups
			want := make([]float64, s.N*oh*ow*s.OC)
			for n := 0; n < s.N; n++ {
				for y := 0; y < oh; y++ {
					for x := 0; x < ow; x++ {
						for oc := 0; oc < s.OC; oc++ {
							acc := float64(bias[oc])
							g := oc / ocg
							for ci := 0; ci < cg; ci++ {
								for kh := 0; kh < s.KH; kh++ {
									for kw := 0; kw < s.KW; kw++ {
										ih, iw := y*s.StrideH-s.PadTop+kh*s.DilH, x*s.StrideW-s.PadLeft+kw*s.DilW
										if ih >= 0 && ih < s.H && iw >= 0 && iw < s.W {
											acc += float64(in[((n*s.H+ih)*s.W+iw)*s.C+g*cg+ci]) * float64(w[((oc*cg+ci)*s.KH+kh)*s.KW+kw])
										}
									}
								}
							}
							want[((n*oh+y)*ow+x)*s.OC+oc] = acc
						}
					}
				}
			}
			got := make([]float32, len(want))
			ConvF32(s, in, w, bias, got, 2)
			for i := range want {
				if !assert.InDelta(quietT{}, want[i], got[i], 1e-4) {
					require.InDelta(t, want[i], got[i], 1e-4, "%s [%d]", tc.name, i)
				}
			}
		}
	})
}
