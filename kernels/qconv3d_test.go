package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refConv3DAcc is the definition of the int32 accumulator of a 3-D
// convolution: bias + Σ (x − zp)·w over the taps inside the input (the
// padding holds zp and adds nothing).
func refConv3DAcc(s Conv3DShape, in, w []int8, bias []int32, zp int32) []int32 {
	s = s.norm()
	od, oh, ow := s.Out()
	cg, ocg := s.C/s.Groups, s.OC/s.Groups
	acc := make([]int32, s.N*od*oh*ow*s.OC)
	for n := 0; n < s.N; n++ {
		for z := 0; z < od; z++ {
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					for oc := 0; oc < s.OC; oc++ {
						var a int32
						if bias != nil {
							a = bias[oc]
						}
						g := oc / ocg
						for ci := 0; ci < cg; ci++ {
							for kt := 0; kt < s.KD; kt++ {
								iz := z*s.StrideD - s.PadFront + kt*s.DilD
								for ki := 0; ki < s.KH; ki++ {
									iy := y*s.StrideH - s.PadTop + ki*s.DilH
									for kj := 0; kj < s.KW; kj++ {
										ix := x*s.StrideW - s.PadLeft + kj*s.DilW
										if iz < 0 || iz >= s.D || iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
											continue
										}
										xv := int32(in[(((n*s.D+iz)*s.H+iy)*s.W+ix)*s.C+g*cg+ci]) - zp
										wv := int32(w[((((oc*cg+ci)*s.KD+kt)*s.KH+ki)*s.KW)+kj])
										a += xv * wv
									}
								}
							}
						}
						acc[(((n*od+z)*oh+y)*ow+x)*s.OC+oc] = a
					}
				}
			}
		}
	}
	return acc
}

// TestQConv3DVsReference checks QConv3D on every dispatch path against the
// definition and both requantizations: the cubic 3x3x3 layers of C3D/MC3, the
// (1,3,3) and (3,1,1) factorised layers of R(2+1)D, an RGB stem (3 channels,
// im2col runs of 3 bytes), a 1x1x1 read in place, strides, dilations,
// asymmetric pads, groups and batch 2.
func TestQConv3DVsReference(t *testing.T) {
	cases := []struct {
		name string
		s    Conv3DShape
	}{
		{"c3d-3x3x3", Conv3DShape{N: 1, D: 4, H: 6, W: 7, C: 16, OC: 32, KD: 3, KH: 3, KW: 3, PadFront: 1, PadTop: 1, PadLeft: 1, PadBack: 1, PadBottom: 1, PadRight: 1}},
		{"mc3-stem-3x7x7s122", Conv3DShape{N: 1, D: 3, H: 11, W: 10, C: 3, OC: 24, KD: 3, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadFront: 1, PadTop: 3, PadLeft: 3, PadBack: 1, PadBottom: 3, PadRight: 3}},
		{"r21d-1x3x3s2", Conv3DShape{N: 2, D: 3, H: 9, W: 8, C: 64, OC: 48, KD: 1, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}},
		{"r21d-3x1x1-s2-depth", Conv3DShape{N: 1, D: 7, H: 4, W: 5, C: 48, OC: 64, KD: 3, KH: 1, KW: 1, StrideD: 2, PadFront: 1, PadBack: 1}},
		{"1x1x1-in-place", Conv3DShape{N: 2, D: 3, H: 4, W: 5, C: 64, OC: 80, KD: 1, KH: 1, KW: 1}},
		{"1x1x1-s2-downsample", Conv3DShape{N: 1, D: 4, H: 6, W: 6, C: 32, OC: 64, KD: 1, KH: 1, KW: 1, StrideD: 2, StrideH: 2, StrideW: 2}},
		{"dilated-asym", Conv3DShape{N: 1, D: 6, H: 7, W: 9, C: 8, OC: 12, KD: 2, KH: 3, KW: 2, StrideD: 1, StrideH: 2, StrideW: 1, PadFront: 2, PadTop: 0, PadLeft: 1, PadBack: 0, PadBottom: 2, PadRight: 1, DilD: 2, DilH: 1, DilW: 3}},
		{"grouped-3x1x1", Conv3DShape{N: 1, D: 4, H: 5, W: 5, C: 32, OC: 32, KD: 3, KH: 1, KW: 1, PadFront: 1, PadBack: 1, Groups: 4}},
		{"amx-3x3x3-c64", Conv3DShape{N: 1, D: 3, H: 8, W: 8, C: 64, OC: 64, KD: 3, KH: 3, KW: 3, PadFront: 1, PadTop: 1, PadLeft: 1, PadBack: 1, PadBottom: 1, PadRight: 1}},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(31, 32))
		for _, tc := range cases {
			s := tc.s
			require.NoError(t, s.Validate(), tc.name)
			sn := s.norm()
			k := (s.C / sn.Groups) * s.KD * s.KH * s.KW
			w := randI8(r, s.OC*k, -127, 127)
			bias := randI32(r, s.OC, 1<<12)
			in := randI8(r, s.N*s.D*s.H*s.W*s.C, -128, 127)
			if tc.name == "c3d-3x3x3" || tc.name == "mc3-stem-3x7x7s122" || tc.name == "grouped-3x1x1" {
				// full-range weights (PyTorch's qint8, -128 included) at the extremes
				w, in = fullRangeWeights(r, s.OC*k, k), extremeActivations(r, len(in))
			}
			for _, zp := range []int32{-128, 0, 17} {
				pw, err := PackQConv3D(s, w, bias, zp)
				require.NoError(t, err, tc.name)
				acc := refConv3DAcc(s, in, w, bias, zp)
				scales := make([]float64, s.OC)
				for i := range scales {
					scales[i] = 1 / (40 * math.Sqrt(float64(k))) * (0.5 + r.Float64())
				}
				for _, mode := range []RequantMode{RequantFloat, RequantFixedPoint} {
					rq := NewRequant(mode, scales, int32(r.IntN(40)-20), -100, 127)
					want := refRequant(acc, s.OC, rq)
					for _, threads := range []int{1, 2} {
						got := make([]int8, len(want))
						QConv3D(s, in, pw, got, rq, threads)
						if !assert.Equal(quietT{}, want, got) {
							require.Equal(t, want, got, "%s zp=%d mode=%v threads=%d", tc.name, zp, mode, threads)
						}
					}
				}
			}
		}
	})
}

func TestPackQConv3DErrors(t *testing.T) {
	s := Conv3DShape{N: 1, D: 2, H: 2, W: 2, C: 2, OC: 2, KD: 1, KH: 1, KW: 1}
	_, err := PackQConv3D(s, []int8{1, 2, -128}, nil, 0)
	require.ErrorContains(t, err, "weights have 3 values")
	_, err = PackQConv3D(Conv3DShape{N: 1, D: 2, H: 2, W: 2, C: 3, OC: 2, KD: 1, KH: 1, KW: 1, Groups: 2}, make([]int8, 6), nil, 0)
	require.Error(t, err)
	_, err = PackQConv3D(Conv3DShape{N: 1, D: 2, H: 3, W: 3, C: 1, OC: 1, KD: 3, KH: 1, KW: 1}, make([]int8, 3), nil, 0)
	require.Error(t, err)
}
