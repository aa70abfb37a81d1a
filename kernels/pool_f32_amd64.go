//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set pool -out ../asm_pool_amd64.s -stubs ../stubs_pool_amd64.go -pkg kernels"

// poolF32Vec runs the AVX-512 or AVX2 pooling kernel and reports whether it
// did. Strides are in floats.
func poolF32Vec(isMax bool, dst []float32, dstride int, src []float32, c, kh, kw, hstride, wstride, pstride, n int, scale float32) bool {
	switch {
	case f32Wide:
		c64, r := c/64, c%64
		c32, c16, t := r/32, r%32/16, r%16
		km := uint16(1<<t - 1)
		if isMax {
			poolMaxF32AVX512(&dst[0], &src[0], c64, c32, c16, km, kh, kw, 4*hstride, 4*wstride, 4*pstride, 4*dstride, n)
		} else {
			poolAvgF32AVX512(&dst[0], &src[0], c64, c32, c16, km, kh, kw, 4*hstride, 4*wstride, 4*pstride, 4*dstride, n, scale)
		}
	case simdPath == isaAVX2:
		t := c % 8
		var mask [8]int32
		for i := range t {
			mask[i] = -1
		}
		if isMax {
			poolMaxF32AVX2(&dst[0], &src[0], c/32, c%32/8, t, &mask[0], kh, kw, 4*hstride, 4*wstride, 4*pstride, 4*dstride, n)
		} else {
			poolAvgF32AVX2(&dst[0], &src[0], c/32, c%32/8, t, &mask[0], kh, kw, 4*hstride, 4*wstride, 4*pstride, 4*dstride, n, scale)
		}
	default:
		return false
	}
	return true
}

// affineRowsVec runs affineRowsF32AVX512 (see there) and reports whether it
// did. Strides are in floats.
func affineRowsVec(x []float32, sx, n, c int, a, b []float32, y []float32, sy int, lo, hi float32) bool {
	if !f32Wide {
		return false
	}
	t := c % 16
	affineRowsF32AVX512(&y[0], 4*sy, &x[0], 4*sx, &a[0], &b[0], c/64, c%64/16, uint16(1<<t-1), lo, hi, n)
	return true
}

// maxWindowsI8Vec runs poolMaxI8AVX512 (AVX-512 BW) over n pixels of c
// channels (dst contiguous; strides in bytes) and reports whether it did.
func maxWindowsI8Vec(dst, src []int8, c, kh, kw, hstride, wstride, pstride, n int) bool {
	if !avx512BWVL() {
		return false
	}
	_ = dst[n*c-1]
	_ = src[(n-1)*pstride+(kh-1)*hstride+(kw-1)*wstride+c-1]
	t := c % 64
	poolMaxI8AVX512(&dst[0], &src[0], c/256, c%256/64, uint64(1)<<t-1, kh, kw, hstride, wstride, pstride, c, n)
	return true
}
