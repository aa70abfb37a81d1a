package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQDepthwise3DVsReference checks QDepthwise3D bit for bit against the
// integer definition (refConv3DAcc, then the requantization) on X3D's layers
// and random shapes: strides, dilations, asymmetric pads (windows wholly in
// the padding), channel multipliers 1-2, 1-70 channels, both requantizations,
// three input zero points, batch 1-2, 1-3 threads. Where it has no path (not
// VNNI) it must report false and write nothing.
func TestQDepthwise3DVsReference(t *testing.T) {
	fixed := []Conv3DShape{
		{N: 1, D: 8, H: 14, W: 14, C: 54, OC: 54, KD: 3, KH: 3, KW: 3, PadFront: 1, PadTop: 1, PadLeft: 1, PadBack: 1, PadBottom: 1, PadRight: 1},
		{N: 1, D: 4, H: 9, W: 10, C: 54, OC: 54, KD: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadFront: 1, PadTop: 1, PadLeft: 1, PadBack: 1, PadBottom: 1, PadRight: 1},
		{N: 2, D: 6, H: 5, W: 5, C: 16, OC: 32, KD: 3, KH: 1, KW: 1, PadFront: 1, PadBack: 1},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(41, 42))
		for it := 0; it < 30; it++ {
			var s Conv3DShape
			if it < len(fixed) {
				s = fixed[it]
			} else {
				s = Conv3DShape{N: 1 + r.IntN(2), D: 1 + r.IntN(5), H: 1 + r.IntN(7), W: 1 + r.IntN(9), C: 1 + r.IntN(70),
					KD: 1 + r.IntN(3), KH: 1 + r.IntN(3), KW: 1 + r.IntN(5),
					StrideD: 1 + r.IntN(2), StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(3),
					DilD: 1 + r.IntN(2), DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2),
					PadFront: r.IntN(3), PadTop: r.IntN(3), PadLeft: r.IntN(3), PadBack: r.IntN(3), PadBottom: r.IntN(3), PadRight: r.IntN(3)}
				s.OC = s.C * (1 + r.IntN(2))
			}
			s.Groups = s.C
			if s.Validate() != nil {
				continue
			}
			s = s.norm()
			taps := s.KD * s.KH * s.KW
			w := randI8(r, s.OC*taps, -128, 127)
			bias := randI32(r, s.OC, 1<<12)
			in := randI8(r, s.N*s.D*s.H*s.W*s.C, -128, 127)
			zp := []int32{-128, 0, 17}[it%3]
			pw, err := PackQConv(ConvShape{N: 1, H: s.KD * s.KH, W: s.KW, C: s.C, OC: s.OC, KH: s.KD * s.KH, KW: s.KW, Groups: s.C}, w, bias, zp)
			require.NoError(t, err)
			acc := refConv3DAcc(s, in, w, bias, zp)
			scales := make([]float64, s.OC)
			for i := range scales {
				scales[i] = 1 / (40 * math.Sqrt(float64(taps))) * (0.5 + r.Float64())
			}
			mode := []RequantMode{RequantFloat, RequantFixedPoint}[it%2]
			rq := NewRequant(mode, scales, int32(r.IntN(40)-20), -100, 127)
			want := refRequant(acc, s.OC, rq)
			threads := 1 + it%3
			got := make([]int8, len(want))
			if !QDepthwise3D(s, in, pw, got, rq, threads) {
				require.Equal(t, make([]int8, len(want)), got, "%+v: no path, but written", s)
				continue
			}
			if !assert.Equal(quietT{}, want, got) {
				require.Equal(t, want, got, "%s %+v zp=%d mode=%v threads=%d", Int8Path(), s, zp, mode, threads)
			}
		}
	})
}
