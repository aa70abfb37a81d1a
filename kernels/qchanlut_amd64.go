//go:build amd64 && !purego && !noasm

package kernels

// chanLUTPixelsVec runs chanLUTAVX512 on n pixels and reports whether it did
// (AVX-512 F and BW on a SIMD path).
func chanLUTPixelsVec(t *ChanLUT, in, out []int8, n int) bool {
	if !ew512OK || simdPath == isaGo {
		return false
	}
	_ = in[n*t.c-1]
	_ = out[n*t.c-1]
	chanLUTAVX512(&in[0], &out[0], &t.tables[0], &t.offs[0], t.c, t.c/16, uint16(1<<(t.c%16)-1), n)
	return true
}
