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
	return (s.H+s.PadTop+s.PadBottom-s.DilH*(s.KH-1)-1)/s.StrideH + 1
}

// OutW is the output width (floor mode).
func (s PoolShape) OutW() int {
	s = s.norm()
	return (s.W+s.PadLeft+s.PadRight-s.DilW*(s.KW-1)-1)/s.StrideW + 1
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
// ignored). Input and output share scale and zero point. It uses GOMAXPROCS
// threads; QMaxPoolThreads takes the count.
func QMaxPool(s PoolShape, in, out []int8) { QMaxPoolThreads(s, in, out, 0) }

// QMaxPoolThreads is QMaxPool on up to threads threads (<= 0: GOMAXPROCS).
func QMaxPoolThreads(s PoolShape, in, out []int8, threads int) {
	s = s.mustValidate(len(in), len(out))
	oh, ow := s.OutH(), s.OutW()
	poolParallel(s, oh, ow, threads, func(r0, r1, c0, c1 int) {
		for r := r0; r < r1; r++ {
			n, y := r/oh, r%oh
			for x := 0; x < ow; x++ {
				dst := out[((r*ow)+x)*s.C+c0:][:c1-c0]
				for c := range dst {
					dst[c] = -128
				}
				for kh := 0; kh < s.KH; kh++ {
					ih := y*s.StrideH - s.PadTop + kh*s.DilH
					if ih < 0 || ih >= s.H {
						continue
					}
					for kw := 0; kw < s.KW; kw++ {
						iw := x*s.StrideW - s.PadLeft + kw*s.DilW
						if iw < 0 || iw >= s.W {
							continue
						}
						src := in[((n*s.H+ih)*s.W+iw)*s.C+c0:][:c1-c0]
						for c, v := range src {
							dst[c] = max(dst[c], v)
						}
					}
				}
			}
		}
	})
}

// poolParallel splits pooling into ranges of output rows and, when there are
// too few rows for the threads (a global pool has one per image), into
// blocks of channels, and runs fn on them over the pool. Small pools run
// inline.
func poolParallel(s PoolShape, oh, ow, threads int, fn func(r0, r1, c0, c1 int)) {
	threads = resolveThreads(threads)
	rows := s.N * oh
	if threads <= 1 || rows*ow*max(s.KH*s.KW, 1)*s.C < 1<<15 {
		fn(0, rows, 0, s.C)
		return
	}
	if rows >= 4*threads || s.C < 64 {
		ParallelRange(rows, 1, threads, func(lo, hi int) { fn(lo, hi, 0, s.C) })
		return
	}
	bw := (s.C + 4*threads - 1) / (4 * threads)
	bw = max(32, (bw+15)/16*16)
	cb := (s.C + bw - 1) / bw
	ParallelRange(rows*cb, 1, threads, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			r, b := u/cb, u%cb
			fn(r, r+1, b*bw, min(s.C, (b+1)*bw))
		}
	})
}

// QAvgPool is int8 NHWC average pooling (GlobalAveragePool when KH=H, KW=W and
// no padding). acc = Σ (q - inZP) over the window positions inside the input;
// count = window positions inside the input, or inside the padded input when
// CountIncludePad; out = clamp(roundHalfToEven(float64(acc) · inScale / (outScale·count)) + outZP, -128, 127)
// in float64 arithmetic: acc * (float64(inScale) / (float64(outScale)*count)).
// It uses GOMAXPROCS threads; QAvgPoolThreads takes the count.
func QAvgPool(s PoolShape, in []int8, inScale float32, inZP int32, out []int8, outScale float32, outZP int32) {
	QAvgPoolThreads(s, in, inScale, inZP, out, outScale, outZP, 0)
}

// QAvgPoolThreads is QAvgPool on up to threads threads (<= 0: GOMAXPROCS).
func QAvgPoolThreads(s PoolShape, in []int8, inScale float32, inZP int32, out []int8, outScale float32, outZP int32, threads int) {
	s = s.mustValidate(len(in), len(out))
	oh, ow := s.OutH(), s.OutW()
	poolParallel(s, oh, ow, threads, func(r0, r1, c0, c1 int) {
		var accBuf [256]int32
		acc := accBuf[:0]
		if c1-c0 <= len(accBuf) {
			acc = accBuf[:c1-c0]
		} else {
			acc = make([]int32, c1-c0)
		}
		for r := r0; r < r1; r++ {
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
						src := in[((n*s.H+ih)*s.W+iw)*s.C+c0:][:c1-c0]
						for c, v := range src {
							acc[c] += int32(v) - inZP
						}
					}
				}
				dst := out[((r*ow)+x)*s.C+c0:][:c1-c0]
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
