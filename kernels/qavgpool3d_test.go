package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQAvgPool3DVsReference checks the 3-D average pool against the direct
// definition on random windows: depth-1 windows (the batched 2-D call and the
// per-slice one, with depth strides and padding), deeper windows with depth
// dilation and padding, strides, asymmetric pads, count_include_pad on and
// off, saturating scales, every path and 1-3 threads.
func TestQAvgPool3DVsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(31, 32))
		tested := map[bool]int{}
		for i := 0; i < 80; i++ {
			var s Pool3DShape
			s.N, s.D, s.H, s.W = 1+r.IntN(2), 1+r.IntN(6), 1+r.IntN(9), 1+r.IntN(9)
			s.C = []int{1, 5, 16, 20, 48}[r.IntN(5)]
			s.CountIncludePad = r.IntN(2) == 0
			for a := range 3 {
				s.K[a] = 1 + r.IntN(3)
				s.Stride[a], s.Dil[a] = 1+r.IntN(2), 1+r.IntN(2)
				s.Pads[a], s.Pads[3+a] = r.IntN(s.K[a]), r.IntN(s.K[a]+1)
			}
			if i%3 == 0 { // the video networks' (1, k, k) pools
				s.K[0], s.Stride[0], s.Pads[0], s.Pads[3] = 1, 1, 0, 0
			}
			if s.Validate() != nil {
				continue
			}
			tested[s.K[0] == 1]++
			inZP := []int32{-128, 127, 0, int32(r.IntN(256) - 128)}[r.IntN(4)]
			outZP := int32(r.IntN(256) - 128)
			inScale, outScale := float32(0.01+r.Float64()), float32(0.01+r.Float64()*0.2)
			in := randI8(r, s.N*s.D*s.H*s.W*s.C, -128, 127)
			want := refQAvgPool3D(s, in, inScale, inZP, outScale, outZP)
			for _, threads := range []int{1, 2, 3} {
				got := make([]int8, len(want))
				QAvgPool3D(s, in, inScale, inZP, got, outScale, outZP, threads)
				if !assert.Equal(quietT{}, want, got) {
					require.Equal(t, want, got, "%+v zp %d/%d threads %d", s, inZP, outZP, threads)
				}
			}
		}
		require.Greater(t, tested[true], 10)
		require.Greater(t, tested[false], 10)
	})
}

// refQAvgPool3D is the ONNX definition in three dimensions: the mean of the
// counted taps of v − zp (padding counted only with count_include_pad),
// requantized in float64.
func refQAvgPool3D(s Pool3DShape, in []int8, inScale float32, inZP int32, outScale float32, outZP int32) []int8 {
	sn := s.norm()
	od, oh, ow := s.Out()
	dims := [3]int{s.D, s.H, s.W}
	out := make([]int8, s.N*od*oh*ow*s.C)
	for n := 0; n < s.N; n++ {
		for z := 0; z < od; z++ {
			for y := 0; y < oh; y++ {
				for x := 0; x < ow; x++ {
					o := [3]int{z, y, x}
					for c := 0; c < s.C; c++ {
						sum, cnt := 0, 0
						for kd := 0; kd < s.K[0]; kd++ {
							for kh := 0; kh < s.K[1]; kh++ {
								for kw := 0; kw < s.K[2]; kw++ {
									tap := [3]int{kd, kh, kw}
									inside, padded := true, true
									var p [3]int
									for a := range 3 {
										p[a] = o[a]*sn.Stride[a] - s.Pads[a] + tap[a]*sn.Dil[a]
										inside = inside && p[a] >= 0 && p[a] < dims[a]
										padded = padded && p[a] < dims[a]+s.Pads[3+a]
									}
									if inside {
										sum += int(in[(((n*s.D+p[0])*s.H+p[1])*s.W+p[2])*s.C+c]) - int(inZP)
										cnt++
									} else if s.CountIncludePad && padded {
										cnt++
									}
								}
							}
						}
						i := (((n*od+z)*oh+y)*ow+x)*s.C + c
						if cnt == 0 {
							out[i] = int8(outZP)
							continue
						}
						out[i] = refQuant(float64(sum)*(float64(inScale)/(float64(outScale)*float64(cnt))), outZP, -128, 127)
					}
				}
			}
		}
	}
	return out
}
