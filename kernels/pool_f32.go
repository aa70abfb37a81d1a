package kernels

import "fmt"

// MaxPoolPixelsF32 computes n output pixels of a float32 max pool over
// channels-last pixels whose windows have the same shape: kh rows hstride
// floats apart of kw taps wstride floats apart, the first tap of output
// pixel i at src[i·pstride], its c channels written at dst[i·dstride]. A NaN
// anywhere in a window gives NaN (as Go's max); of +0 and −0 either may be
// kept. kh and kw must be
// at least 1: a window wholly in the padding is the caller's.
//
// The AVX-512 and AVX2 kernels (asm_pool_amd64.s) run each pixel's channels
// in runs of four vectors before the next pixel: the calls per pixel and tap
// of MaxF32, not the maxima, were the cost of the row-fold pool (3x ONNX
// Runtime's on GoogLeNet's and Inception's pools, eleventh session).
func MaxPoolPixelsF32(dst []float32, dstride int, src []float32, c, kh, kw, hstride, wstride, pstride, n int) {
	if !poolPixelsArgs("MaxPoolPixelsF32", dst, dstride, src, c, kh, kw, hstride, wstride, pstride, n) {
		return
	}
	if poolF32Vec(true, dst, dstride, src, c, kh, kw, hstride, wstride, pstride, n, 0) {
		return
	}
	for i := 0; i < n; i++ {
		d := dst[i*dstride : i*dstride+c]
		s := src[i*pstride:]
		copy(d, s[:c])
		for a := 0; a < kh; a++ {
			for b := 0; b < kw; b++ {
				if a > 0 || b > 0 {
					maxIntoGo(d, s[a*hstride+b*wstride:])
				}
			}
		}
	}
}

// AvgPoolPixelsF32 is MaxPoolPixelsF32 for the average: each output is the
// float32 sum of its window's taps in window order (rows, then taps), from
// +0, times scale (the caller's 1/count). Every path performs the same
// operations in the same order, so they give the same bits.
func AvgPoolPixelsF32(dst []float32, dstride int, src []float32, c, kh, kw, hstride, wstride, pstride, n int, scale float32) {
	if !poolPixelsArgs("AvgPoolPixelsF32", dst, dstride, src, c, kh, kw, hstride, wstride, pstride, n) {
		return
	}
	if poolF32Vec(false, dst, dstride, src, c, kh, kw, hstride, wstride, pstride, n, scale) {
		return
	}
	for i := 0; i < n; i++ {
		d := dst[i*dstride : i*dstride+c]
		s := src[i*pstride:]
		clear(d)
		for a := 0; a < kh; a++ {
			for b := 0; b < kw; b++ {
				t := s[a*hstride+b*wstride:][:c]
				for k, v := range t {
					d[k] += v
				}
			}
		}
		for k := range d {
			d[k] *= scale
		}
	}
}

// poolPixelsArgs checks the arguments of the pooling kernels (a misuse is a
// programming error: it panics) and reports whether there is work.
func poolPixelsArgs(name string, dst []float32, dstride int, src []float32, c, kh, kw, hstride, wstride, pstride, n int) bool {
	if n <= 0 || c <= 0 {
		return false
	}
	if kh < 1 || kw < 1 || dstride < c || hstride < 0 || wstride < 0 || pstride < 0 {
		panic(fmt.Sprintf("kernels.%s: window %dx%d, strides dst %d h %d w %d pixel %d for %d channels", name, kh, kw, dstride, hstride, wstride, pstride, c))
	}
	if need := (n-1)*dstride + c; len(dst) < need {
		panic(fmt.Sprintf("kernels.%s: dst has %d elements, want %d", name, len(dst), need))
	}
	if need := (n-1)*pstride + (kh-1)*hstride + (kw-1)*wstride + c; len(src) < need {
		panic(fmt.Sprintf("kernels.%s: src has %d elements, want %d", name, len(src), need))
	}
	return true
}
