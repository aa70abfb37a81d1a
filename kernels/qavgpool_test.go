package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQAvgPoolWindowVsReference checks the vector average pool against the
// direct definition on random windows: strides, dilations, asymmetric and
// oversized padding, count_include_pad on and off, channel counts that are
// not a multiple of 16, extreme zero points and scales that saturate, every
// path and 1-3 threads.
func TestQAvgPoolWindowVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for i := 0; i < 60; i++ {
			k := 1 + r.IntN(4)
			s := PoolShape{N: 1 + r.IntN(2), H: 1 + r.IntN(12), W: 1 + r.IntN(12), C: []int{1, 7, 16, 20, 48, 288}[r.IntN(6)],
				KH: k, KW: 1 + r.IntN(4), StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(3), DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2),
				PadTop: r.IntN(k), PadLeft: r.IntN(3), PadBottom: r.IntN(k + 1), PadRight: r.IntN(3), CountIncludePad: r.IntN(2) == 0}
			if s.Validate() != nil {
				continue
			}
			inZP := []int32{-128, 127, 0, int32(r.IntN(256) - 128)}[r.IntN(4)]
			outZP := int32(r.IntN(256) - 128)
			inScale := float32(0.01 + r.Float64())
			outScale := float32(0.01 + r.Float64()*0.2)
			in := randI8(r, s.N*s.H*s.W*s.C, -128, 127)
			want := refQAvgPool(s, in, inScale, inZP, outScale, outZP)
			for _, threads := range []int{1, 2, 3} {
				got := make([]int8, len(want))
				QAvgPool(s, in, inScale, inZP, got, outScale, outZP, threads)
				if !assert.Equal(quietT{}, want, got) {
					require.Equal(t, want, got, "%+v zp %d/%d threads %d", s, inZP, outZP, threads)
				}
			}
		}
	})
}

// refQAvgPool is the ONNX definition: the mean of the counted taps of v − zp
// (padding counted only with count_include_pad), requantized in float64.
func refQAvgPool(s PoolShape, in []int8, inScale float32, inZP int32, outScale float32, outZP int32) []int8 {
	sn := s.norm()
	oh, ow := s.OutH(), s.OutW()
	out := make([]int8, s.N*oh*ow*s.C)
	for n := 0; n < s.N; n++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				for c := 0; c < s.C; c++ {
					sum, cnt := 0, 0
					for kh := 0; kh < s.KH; kh++ {
						for kw := 0; kw < s.KW; kw++ {
							ih, iw := y*sn.StrideH-s.PadTop+kh*sn.DilH, x*sn.StrideW-s.PadLeft+kw*sn.DilW
							if ih >= 0 && ih < s.H && iw >= 0 && iw < s.W {
								sum += int(in[((n*s.H+ih)*s.W+iw)*s.C+c]) - int(inZP)
								cnt++
							} else if s.CountIncludePad && ih < s.H+s.PadBottom && iw < s.W+s.PadRight {
								cnt++
							}
						}
					}
					i := ((n*oh+y)*ow+x)*s.C + c
					if cnt == 0 {
						out[i] = int8(outZP)
						continue
					}
					out[i] = refQuant(float64(sum)*(float64(inScale)/(float64(outScale)*float64(cnt))), outZP, -128, 127)
				}
			}
		}
	}
	return out
}
