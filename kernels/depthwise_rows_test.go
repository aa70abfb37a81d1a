package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refAct is the float64 definition of each activation.
func refAct(a Act, v float64) float64 {
	if a.Kind() == ActLeakyRelu {
		if v < 0 {
			return float64(a.Alpha()) * v
		}
		return v
	}
	switch a {
	case ActSigmoid:
		return sigmoid64(v)
	case ActSiLU:
		return v * sigmoid64(v)
	case ActHardSwish:
		return v * math.Max(0, math.Min(1, v/6+0.5))
	case ActGELU:
		return v * (1 + math.Erf(v/math.Sqrt2)) / 2
	case ActTanh:
		return math.Tanh(v)
	}
	return v
}

// TestActF32VsReference checks the vector activations against float64 on
// every path: lengths around the vector widths, the exp clamp range, ±0, ±Inf
// handled like the definitions, in place and out of place.
func TestActF32VsReference(t *testing.T) {
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 5, -5, 30, -30, 87, -87, 88.5, -88.5, 100, -100, 1e-8, -1e-8}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, a := range []Act{ActNone, ActSigmoid, ActSiLU, ActHardSwish, ActGELU, ActTanh, LeakyReluAct(0.1), LeakyReluAct(-1.5)} {
			for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 33, 100, 257} {
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(r.NormFloat64() * 6)
					if i < len(special) && n > 20 {
						src[i] = special[i]
					}
				}
				for _, inPlace := range []bool{false, true} {
					dst := make([]float32, n)
					if inPlace {
						copy(dst, src)
						ActF32(a, dst, dst)
					} else {
						ActF32(a, dst, src)
					}
					for i, v := range src {
						want := refAct(a, float64(v))
						got := float64(dst[i])
						if math.IsInf(want, 0) || math.IsNaN(want) {
							if !assert.Equal(quietT{}, want, got) {
								require.Equal(t, want, got, "%s(%g)", a, v)
							}
							continue
						}
						tol := 4e-7*math.Abs(want) + 1e-30
						if a == ActGELU {
							// 1+erf(x/√2) cancels for x ≪ 0: the error is absolute, in units of |x|.
							tol += 3e-7 * math.Abs(float64(v))
						}
						if !assert.InDelta(quietT{}, want, got, tol) {
							require.InDelta(t, want, got, tol, "%s(%g), n=%d", a, v, n)
						}
					}
				}
			}
		}
	})
}

// refDepthwise is the direct definition, in float64, on NCHW data.
func refDepthwise(s ConvShape, x, w, bias []float32) []float64 {
	s = s.norm()
	oh, ow := s.OutH(), s.OutW()
	mult := s.OC / s.C
	y := make([]float64, s.N*s.OC*oh*ow)
	for n := 0; n < s.N; n++ {
		for o := 0; o < s.OC; o++ {
			c := o / mult
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					var acc float64
					if bias != nil {
						acc = float64(bias[o])
					}
					for ki := 0; ki < s.KH; ki++ {
						for kj := 0; kj < s.KW; kj++ {
							iy, ix := i*s.StrideH-s.PadTop+ki*s.DilH, j*s.StrideW-s.PadLeft+kj*s.DilW
							if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
								continue
							}
							acc += float64(x[((n*s.C+c)*s.H+iy)*s.W+ix]) * float64(w[(o*s.KH+ki)*s.KW+kj])
						}
					}
					y[((n*s.OC+o)*oh+i)*ow+j] = acc
				}
			}
		}
	}
	return y
}

// TestDepthwiseF32VsReference covers the depthwise shapes of MobileNet v1-v3,
// EfficientNet and ConvNeXt and odd ones (channel multipliers, channels not a
// multiple of 16, dilation, asymmetric padding, widths below the 4-pixel step),
// NHWC and NCHW input, padded pixel strides, every epilogue, 1-3 threads, on
// every dispatch path.
func TestDepthwiseF32VsReference(t *testing.T) {
	shapes := []ConvShape{
		{N: 1, H: 14, W: 14, C: 32, OC: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 2, H: 15, W: 15, C: 24, OC: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{N: 1, H: 9, W: 9, C: 72, OC: 72, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
		{N: 1, H: 7, W: 7, C: 96, OC: 96, KH: 7, KW: 7, StrideH: 1, StrideW: 1, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3},
		{N: 1, H: 8, W: 6, C: 7, OC: 14, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 0, PadLeft: 1, PadBottom: 2, PadRight: 0},
		{N: 1, H: 10, W: 11, C: 16, OC: 48, KH: 3, KW: 2, StrideH: 1, StrideW: 2, DilH: 2, DilW: 2, PadTop: 2, PadLeft: 1, PadBottom: 2, PadRight: 1},
		{N: 1, H: 3, W: 3, C: 1, OC: 1, KH: 3, KW: 3, StrideH: 1, StrideW: 1},
		{N: 1, H: 5, W: 2, C: 130, OC: 130, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
	}
	eps := []F32Epilogue{NoEpilogue, {Lo: 0, Hi: 6}, {Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActSiLU},
		{Lo: NoEpilogue.Lo, Hi: NoEpilogue.Hi, Act: ActHardSwish}, {Lo: -1, Hi: 1, Act: ActSigmoid}}
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for si, s := range shapes {
			s.Groups = s.C
			taps := s.KH * s.KW
			w := randF32(r, s.OC*taps)
			bias := randF32(r, s.OC)
			x := randF32(r, s.N*s.C*s.H*s.W)
			for v := 0; v < 2*len(eps); v++ {
				ep := eps[v%len(eps)]
				nchw, withBias := v/len(eps) == 1, v%2 == 0
				b := bias
				if !withBias {
					b = nil
				}
				want := refDepthwise(s, x, w, b)
				pw := PackDWF32(s.OC, s.OC/s.C, s.KH, s.KW, w, b)
				sx, xin := 0, x
				if !nchw {
					sx = s.C + si%3 // padded pixel stride on some shapes
					xin = toNHWC(x, s.N, s.C, s.H*s.W, sx)
				}
				sy := s.OC + (si+1)%2
				oh, ow := s.OutH(), s.OutW()
				threads := 1 + v%3
				y := make([]float32, s.N*oh*ow*sy)
				for i := range y {
					y[i] = 12345 // lanes between OC and sy must stay untouched
				}
				DepthwiseF32(s, pw, xin, sx, y, sy, ep, threads)
				name := fmt.Sprintf("shape %d, ep %+v, nchw %v, bias %v", si, ep, nchw, withBias)
				for n := 0; n < s.N; n++ {
					for p := 0; p < oh*ow; p++ {
						for o := 0; o < sy; o++ {
							got := y[(n*oh*ow+p)*sy+o]
							if o >= s.OC {
								if !assert.Equal(quietT{}, float32(12345), got) {
									require.Equal(t, float32(12345), got, name)
								}
								continue
							}
							ref := want[(n*s.OC+o)*oh*ow+p]
							ref = refAct(ep.Act, math.Min(math.Max(ref, float64(ep.Lo)), float64(ep.Hi)))
							if !assert.InDelta(quietT{}, ref, float64(got), 1e-4*(1+math.Abs(ref))) {
								require.InDelta(t, ref, float64(got), 1e-4*(1+math.Abs(ref)), "%s at image %d pixel %d channel %d", name, n, p, o)
							}
						}
					}
				}
			}
		}
	})
}

func toNHWC(x []float32, n, c, hw, stride int) []float32 {
	y := make([]float32, n*hw*stride)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			for p := 0; p < hw; p++ {
				y[(i*hw+p)*stride+ch] = x[(i*c+ch)*hw+p]
			}
		}
	}
	return y
}

// TestAddPixelsF64VsReference checks the channels-last pixel sum (global
// average pool) against float64 on every path: channel counts around 16,
// pixel counts around the 4-pixel step and the 256-pixel blocks, padded strides.
func TestAddPixelsF64VsReference(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, c := range []int{1, 15, 16, 17, 40, 64, 1024, 1100, 2064} {
			for _, n := range []int{1, 3, 4, 5, 255, 256, 257, 1000} {
				stride := c + r.IntN(3)
				x := randF32(r, (n-1)*stride+c)
				acc := make([]float64, c)
				for i := range acc {
					acc[i] = 0.5
				}
				AddPixelsF64(acc, x, n, stride)
				for ch := 0; ch < c; ch++ {
					want := 0.5
					for p := 0; p < n; p++ {
						want += float64(x[p*stride+ch])
					}
					if !assert.InDelta(quietT{}, want, acc[ch], 1e-5*math.Sqrt(float64(n))) {
						require.InDelta(t, want, acc[ch], 1e-5*math.Sqrt(float64(n)), "c=%d n=%d channel %d", c, n, ch)
					}
				}
				// A whole vector of channels gets the bits it gets in a call
				// of its own, however many channels the call has.
				for c0 := 0; c0+16 <= c; c0 += 16 * (1 + r.IntN(40)) {
					part := []float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}
					AddPixelsF64(part, x[c0:], n, stride)
					if !assert.Equal(quietT{}, part, acc[c0:c0+16]) {
						require.Equal(t, part, acc[c0:c0+16], "c=%d n=%d channels from %d", c, n, c0)
					}
				}
			}
		}
	})
}

// TestActF32SplitInvariant checks that an element's result does not depend on the
// slice it is computed in: ActF32 over random pieces (tails of every length) gives
// the bits of one call over the whole array, on every path.
func TestActF32SplitInvariant(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		src := make([]float32, 1031)
		for i := range src {
			src[i] = float32(r.NormFloat64() * 6)
		}
		for _, a := range []Act{ActSigmoid, ActSiLU, ActHardSwish, ActGELU, ActTanh, LeakyReluAct(0.1)} {
			whole := make([]float32, len(src))
			ActF32(a, whole, src)
			pieces := make([]float32, len(src))
			for lo := 0; lo < len(src); {
				hi := min(len(src), lo+1+r.IntN(40))
				ActF32(a, pieces[lo:hi], src[lo:hi])
				lo = hi
			}
			if !assert.Equal(quietT{}, whole, pieces) {
				require.Equal(t, whole, pieces, "%s", a)
			}
		}
	})
}
