package kernels

import (
	"fmt"
	"math"
)

// PoolShape describes an NHWC pooling window. Zero strides/dilations mean 1.
type PoolShape struct {
	N, H, W, C                           int
	KH, KW                               int
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int
	DilH, DilW                           int
	CountIncludePad                      bool
}

func (s PoolShape) norm() PoolShape {
	s.StrideH, s.StrideW = max(s.StrideH, 1), max(s.StrideW, 1)
	s.DilH, s.DilW = max(s.DilH, 1), max(s.DilW, 1)
	return s
}

// OutH is the output height (floor mode).
func (s PoolShape) OutH() int {
	s = s.norm()
	return outDim(s.H, s.PadTop, s.PadBottom, s.KH, s.DilH, s.StrideH)
}

// OutW is the output width (floor mode).
func (s PoolShape) OutW() int {
	s = s.norm()
	return outDim(s.W, s.PadLeft, s.PadRight, s.KW, s.DilW, s.StrideW)
}

// Validate checks the shape.
func (s PoolShape) Validate() error {
	if s.N <= 0 || s.H <= 0 || s.W <= 0 || s.C <= 0 || s.KH <= 0 || s.KW <= 0 {
		return fmt.Errorf("kernels: bad pool shape %+v", s)
	}
	if s.StrideH < 0 || s.StrideW < 0 || s.DilH < 0 || s.DilW < 0 || s.PadTop < 0 || s.PadLeft < 0 || s.PadBottom < 0 || s.PadRight < 0 {
		return fmt.Errorf("kernels: negative stride/dilation/pad in pool shape %+v", s)
	}
	if s.OutH() <= 0 || s.OutW() <= 0 {
		return fmt.Errorf("kernels: pool window larger than padded input %+v", s)
	}
	return nil
}

func (s PoolShape) mustValidate(inLen, outLen int) PoolShape {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	s = s.norm()
	if inLen < s.N*s.H*s.W*s.C || outLen < s.N*s.OutH()*s.OutW()*s.C {
		panic(fmt.Sprintf("kernels: pool buffers too small for %+v", s))
	}
	return s
}

// QMaxPool is int8 NHWC max pooling (padding never wins: padded positions are
// ignored). Input and output share scale and zero point. Output rows are split
// over threads (<= 0: GOMAXPROCS). Within a row, the pixels whose windows lie
// wholly inside the input are one window-kernel call (poolMaxI8AVX512: all of
// a pixel's channels and taps before the next pixel), each border pixel a
// call with its window clipped to the input; without AVX-512 BW each pixel
// folds its window's pixels with vector byte maxima over the channels. (That
// fold, one call per pixel and tap, was the whole path before the twelfth
// session: GoogLeNet's 112x112x64 stem pool took 3x ONNX Runtime's.)
func QMaxPool(s PoolShape, in, out []int8, threads int) {
	s = s.mustValidate(len(in), len(out))
	oh, ow := s.OutH(), s.OutW()
	threads = min(resolveThreads(threads), max(1, s.N*oh*ow*s.C*s.KH*s.KW/(64*1024)))
	if s.C < 32 && s.KH*s.KW > 1 {
		qMaxPoolRows(s, in, out, threads)
		return
	}
	c := s.C
	parallelFor(s.N*oh, 1, threads, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, y := r/oh, r%oh
			y0 := y*s.StrideH - s.PadTop
			k0, k1 := validTaps(y0, s.DilH, s.KH, s.H)
			for x := 0; x < ow; {
				x0 := x*s.StrideW - s.PadLeft
				b0, b1 := validTaps(x0, s.DilW, s.KW, s.W)
				e := x + 1
				if b0 == 0 && b1 == s.KW {
					for e < ow {
						if l, h := validTaps(e*s.StrideW-s.PadLeft, s.DilW, s.KW, s.W); l != 0 || h != s.KW {
							break
						}
						e++
					}
				}
				dst := out[(r*ow+x)*c : (r*ow+e)*c]
				if k0 >= k1 || b0 >= b1 { // the windows lie in the padding
					fill(dst, -128)
				} else {
					src := in[((n*s.H+y0+k0*s.DilH)*s.W+x0+b0*s.DilW)*c:]
					qMaxWindows(dst, src, c, k1-k0, b1-b0, s.DilH*s.W*c, s.DilW*c, s.StrideW*c, e-x)
				}
				x = e
			}
		}
	})
}

// validTaps returns the taps [lo, hi) of a window whose tap 0 is at start
// (dilation dil, k taps) that fall inside [0, size).
func validTaps(start, dil, k, size int) (lo, hi int) {
	for lo < k && start+lo*dil < 0 {
		lo++
	}
	hi = k
	for hi > lo && start+(hi-1)*dil >= size {
		hi--
	}
	return lo, hi
}

// qMaxWindows writes n pixels of c channels (dst, contiguous): pixel i is the
// maximum over the kh×kw taps at src[i·pstride + a·hstride + b·wstride].
func qMaxWindows(dst, src []int8, c, kh, kw, hstride, wstride, pstride, n int) {
	if maxWindowsI8Vec(dst, src, c, kh, kw, hstride, wstride, pstride, n) {
		return
	}
	for i := 0; i < n; i++ {
		d := dst[i*c : (i+1)*c]
		s := src[i*pstride:]
		copy(d, s[:c])
		for a := 0; a < kh; a++ {
			for b := 0; b < kw; b++ {
				if a > 0 || b > 0 {
					maxI8(d, s[a*hstride+b*wstride:][:c])
				}
			}
		}
	}
}

func maxI8Go(dst, src []int8) {
	src = src[:len(dst)]
	for c, v := range src {
		dst[c] = max(dst[c], v)
	}
}

// sumPixelsI8Go adds npix pixels (stride stride) of len(acc) channels into acc.
func sumPixelsI8Go(acc []int32, src []int8, npix, stride int) {
	for p := 0; p < npix; p++ {
		row := src[p*stride:][:len(acc)]
		for c, v := range row {
			acc[c] += int32(v)
		}
	}
}

// QAvgPool is int8 NHWC average pooling (GlobalAveragePool when KH=H, KW=W and
// no padding). acc = Σ (q - inZP) over the window positions inside the input;
// count = window positions inside the input, or inside the padded input when
// CountIncludePad; out = clamp(roundHalfToEven(float64(acc) · inScale / (outScale·count)) + outZP, -128, 127)
// in float64 arithmetic: acc * (float64(inScale) / (float64(outScale)*count)).
//
// Output rows are split over threads (<= 0: GOMAXPROCS); global pooling splits
// the channels and sums them with vector adds.
func QAvgPool(s PoolShape, in []int8, inScale float32, inZP int32, out []int8, outScale float32, outZP int32, threads int) {
	s = s.mustValidate(len(in), len(out))
	oh, ow := s.OutH(), s.OutW()
	threads = min(resolveThreads(threads), max(1, s.N*oh*ow*s.C*s.KH*s.KW/(64*1024)))
	if s.KH == s.H && s.KW == s.W && oh == 1 && ow == 1 && s.StrideH == 1 && s.StrideW == 1 && s.DilH == 1 && s.DilW == 1 {
		qavgGlobal(s, in, inScale, inZP, out, outScale, outZP, threads)
		return
	}
	if qavgWindow(s, in, inScale, inZP, out, outScale, outZP, threads) {
		return
	}
	parallelFor(s.N*oh, 1, threads, func(lo, hi int) {
		acc := make([]int32, s.C)
		for r := lo; r < hi; r++ {
			n, y := r/oh, r%oh
			for x := 0; x < ow; x++ {
				clear(acc)
				count := 0
				for kh := 0; kh < s.KH; kh++ {
					ih := y*s.StrideH - s.PadTop + kh*s.DilH
					inH := ih >= 0 && ih < s.H
					if !inH && !(s.CountIncludePad && ih < s.H+s.PadBottom) {
						continue
					}
					for kw := 0; kw < s.KW; kw++ {
						iw := x*s.StrideW - s.PadLeft + kw*s.DilW
						if !inH || iw < 0 || iw >= s.W {
							if s.CountIncludePad && iw >= -s.PadLeft && iw < s.W+s.PadRight {
								count++
							}
							continue
						}
						count++
						src := in[((n*s.H+ih)*s.W+iw)*s.C:][:s.C]
						for c, v := range src {
							acc[c] += int32(v) - inZP
						}
					}
				}
				dst := out[((r*ow)+x)*s.C:][:s.C]
				if count == 0 {
					for c := range dst {
						dst[c] = int8(max(-128, min(127, outZP)))
					}
					continue
				}
				f := float64(inScale) / (float64(outScale) * float64(count))
				for c := range dst {
					v := math.RoundToEven(float64(acc[c])*f) + float64(outZP)
					dst[c] = int8(math.Max(-128, math.Min(127, v)))
				}
			}
		}
	})
}

// MaxF32 sets dst[i] = max(dst[i], src[i]) for i < len(dst) (src may be
// longer): the row folds of float32 max pooling. A NaN in either operand gives
// NaN, as Go's max; of +0 and -0 either may be kept.
func MaxF32(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	if len(src) < len(dst) {
		panic(fmt.Sprintf("kernels.MaxF32: src has %d elements, dst %d", len(src), len(dst)))
	}
	maxInto(dst, src)
}

func maxIntoGo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = max(dst[i], v)
	}
}

// qavgGlobal is QAvgPool over whole unpadded images: per-channel int32 sums of
// all pixels, then the same float64 rounding as the general path.
func qavgGlobal(s PoolShape, in []int8, inScale float32, inZP int32, out []int8, outScale float32, outZP int32, threads int) {
	hw := s.H * s.W
	f := float64(inScale) / (float64(outScale) * float64(hw))
	const block = 64 // channels per work unit
	units := (s.C + block - 1) / block
	parallelFor(s.N*units, 1, threads, func(lo, hi int) {
		var acc [block]int32
		for u := lo; u < hi; u++ {
			n, c0 := u/units, u%units*block
			c1 := min(c0+block, s.C)
			a := acc[:c1-c0]
			clear(a)
			sumPixelsI8(a, in[n*hw*s.C+c0:], hw, s.C)
			dst := out[n*s.C+c0 : n*s.C+c1]
			for c := range dst {
				v := math.RoundToEven(float64(a[c]-int32(hw)*inZP)*f) + float64(outZP)
				dst[c] = int8(math.Max(-128, math.Min(127, v)))
			}
		}
	})
}
