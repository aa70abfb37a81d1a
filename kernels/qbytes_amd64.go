//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set qbytes -out ../asm_qbytes_amd64.s -stubs ../stubs_qbytes_amd64.go -pkg kernels"

import "github.com/klauspost/cpuid/v2"

// interleavePairsVec runs interleavePairsAVX512 (AVX-512 F, BW and VL for
// the masked tail) and reports whether it did.
func interleavePairsVec(y []int8, sy int, a []int8, sa int, b []int8, sb int, h, n int) bool {
	if !avx512BWVL() {
		return false
	}
	t := h % 16
	interleavePairsAVX512(&y[0], sy, &a[0], sa, &b[0], sb, h/16, uint16(1<<t-1), uint32(1<<(2*t)-1), n)
	return true
}

// avx512BWVL reports AVX-512 F, BW and VL (the masked byte moves of the
// qbytes kernels) on a SIMD path.
func avx512BWVL() bool {
	return simdPath != isaGo && cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL)
}

// maxPixelsVec runs maxPixelsAVX512 (see there) and reports whether it did.
func maxPixelsVec(dst, src []int8, c, ntaps, tstride, pstride, n int) bool {
	if !avx512BWVL() {
		return false
	}
	if n > 0 {
		_ = dst[n*c-1]
		_ = src[(n-1)*pstride+(ntaps-1)*tstride+c-1]
		maxPixelsAVX512(&dst[0], &src[0], c, c/32, uint32(uint64(1)<<(c%32)-1), ntaps, tstride, pstride, n)
	}
	return true
}

// copyPixelsVec runs copyPixelsAVX512 (see there; AVX-512 BW and VL, BMI2)
// and reports whether it did.
func copyPixelsVec(dst []int8, dstride int, src []int8, sstride, c, w, n int) bool {
	if !avx512BWVL() || !cpuid.CPU.Supports(cpuid.BMI2) {
		return false
	}
	if n > 0 && w > 0 {
		_ = dst[(n-1)*dstride+w-1]
		if c > 0 {
			_ = src[(n-1)*sstride+min(c, w)-1]
		}
		copyPixelsAVX512(&dst[0], dstride, &src[0], sstride, min(c, w), w, n)
	}
	return true
}
