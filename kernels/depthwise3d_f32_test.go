package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refDepthwise3D is the float64 definition of a 3-D depthwise convolution of
// NCDHW x with weights [OC][1][KD][KH][KW]: NCDHW output.
func refDepthwise3D(s Conv3DShape, x, w, bias []float32) []float64 {
	s = s.norm()
	od, oh, ow := s.Out()
	mult := s.OC / s.C
	out := make([]float64, s.N*s.OC*od*oh*ow)
	i := 0
	for n := 0; n < s.N; n++ {
		for o := 0; o < s.OC; o++ {
			c := o / mult
			for z := 0; z < od; z++ {
				for y := 0; y < oh; y++ {
					for xo := 0; xo < ow; xo++ {
						var sum float64
						if bias != nil {
							sum = float64(bias[o])
						}
						for kt := 0; kt < s.KD; kt++ {
							iz := z*s.StrideD - s.PadFront + kt*s.DilD
							for ki := 0; ki < s.KH; ki++ {
								iy := y*s.StrideH - s.PadTop + ki*s.DilH
								for kj := 0; kj < s.KW; kj++ {
									ix := xo*s.StrideW - s.PadLeft + kj*s.DilW
									if iz < 0 || iz >= s.D || iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
										continue
									}
									sum += float64(x[(((n*s.C+c)*s.D+iz)*s.H+iy)*s.W+ix]) * float64(w[((o*s.KD+kt)*s.KH+ki)*s.KW+kj])
								}
							}
						}
						out[i] = sum
						i++
					}
				}
			}
		}
	}
	return out
}

// TestDepthwise3DF32VsReference checks Depthwise3DF32 against the definition
// on random shapes on every path (AVX-512, AVX2, Go): strides, dilations,
// asymmetric pads (windows wholly in the padding), channel multipliers 1 and
// 2, 1-70 channels, NCDHW and channels-last inputs (the packed stride with
// finite garbage in its padding lanes, and a wider one), clamps and
// activations, DepthwiseF32Padded-style and exact stores, batch 1-2, 1-3
// threads. Stores never reach past the last pixel, nor the padding lanes
// unless asked.
func TestDepthwise3DF32VsReference(t *testing.T) {
	eps := []F32Epilogue{NoEpilogue, {Lo: 0, Hi: NoEpilogue.Hi}, {Lo: 0, Hi: 6}, {Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActSiLU},
		{Lo: -1, Hi: 1, Act: ActSigmoid}}
	const poison = 12345
	fixed := []Conv3DShape{ // X3D's layers, a (3,1,1) kernel
		{N: 1, D: 8, H: 14, W: 14, C: 54, OC: 54, KD: 3, KH: 3, KW: 3, PadFront: 1, PadTop: 1, PadLeft: 1, PadBack: 1, PadBottom: 1, PadRight: 1},
		{N: 1, D: 4, H: 9, W: 10, C: 54, OC: 54, KD: 3, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadFront: 1, PadTop: 1, PadLeft: 1, PadBack: 1, PadBottom: 1, PadRight: 1},
		{N: 2, D: 6, H: 5, W: 5, C: 16, OC: 16, KD: 3, KH: 1, KW: 1, PadFront: 1, PadBack: 1},
	}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		for it := 0; it < 40; it++ {
			var s Conv3DShape
			if it < len(fixed) {
				s = fixed[it]
			} else {
				mult := 1 + r.IntN(2)
				s = Conv3DShape{N: 1 + r.IntN(2), D: 1 + r.IntN(5), H: 1 + r.IntN(7), W: 1 + r.IntN(9), C: 1 + r.IntN(70),
					KD: 1 + r.IntN(3), KH: 1 + r.IntN(3), KW: 1 + r.IntN(3),
					StrideD: 1 + r.IntN(2), StrideH: 1 + r.IntN(2), StrideW: 1 + r.IntN(3),
					DilD: 1 + r.IntN(2), DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2),
					PadFront: r.IntN(3), PadTop: r.IntN(3), PadLeft: r.IntN(3), PadBack: r.IntN(3), PadBottom: r.IntN(3), PadRight: r.IntN(3)}
				s.OC = s.C * mult
			}
			s.Groups = s.C
			if s.Validate() != nil {
				continue
			}
			s = s.norm()
			mult := s.OC / s.C
			taps := s.KD * s.KH * s.KW
			w, bias := randF32(r, s.OC*taps), randF32(r, s.OC)
			if it%4 == 1 {
				bias = nil
			}
			x := randF32(r, s.N*s.C*s.D*s.H*s.W)
			want := refDepthwise3D(s, x, w, bias)
			pw := PackDWF32(s.OC, mult, s.KD*s.KH, s.KW, w, bias)
			od, oh, ow := s.Out()
			vol, ovol := s.D*s.H*s.W, od*oh*ow
			cin := (s.C + 15) &^ 15
			sxs := []int{0, s.C, cin + 16}
			sx := sxs[it%len(sxs)]
			ep := eps[it%len(eps)]
			padded := it%2 == 0
			sy := s.OC + it%3
			if padded {
				sy = pw.cp
			}
			threads := 1 + it%3
			var xin []float32
			if sx == 0 {
				xin = x
			} else {
				xin = toNHWC(x, s.N, s.C, vol, sx)
				for i := range xin {
					if i%sx >= s.C {
						xin[i] = float32(i%7) - 3
					}
				}
			}
			name := fmt.Sprintf("%s: %+v sx %d sy %d padded %v ep %+v threads %d", Int8Path(), s, sx, sy, padded, ep, threads)
			got := make([]float32, s.N*ovol*sy+16)
			for i := range got {
				got[i] = poison
			}
			Depthwise3DF32(s, pw, xin, sx, got, sy, ep, threads, padded)
			require.Equal(t, float32(poison), got[len(got)-1], "%s: stores past the last pixel", name)
			for q := 0; q < s.N*ovol; q++ {
				for o := 0; o < sy; o++ {
					g := got[q*sy+o]
					switch {
					case o < s.OC:
						n, p := q/ovol, q%ovol
						e := want[(n*s.OC+o)*ovol+p]
						e = refAct(ep.Act, math.Min(math.Max(e, float64(ep.Lo)), float64(ep.Hi)))
						if !assert.InDelta(quietT{}, e, float64(g), 1e-4*(1+math.Abs(e))) {
							require.InDelta(t, e, float64(g), 1e-4*(1+math.Abs(e)), "%s at pixel %d channel %d", name, q, o)
						}
					case padded && sy == pw.cp:
						// padding lanes: anything the stores leave
					default:
						if !assert.Equal(quietT{}, float32(poison), g) {
							require.Equal(t, float32(poison), g, "%s: lane %d of pixel %d written", name, o, q)
						}
					}
				}
			}
		}
	})
}
