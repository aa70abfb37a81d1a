//go:build amd64 && !purego && !noasm

package kernels

import "unsafe"

// dequantBytesVec runs the vector kernel (asm_bcast_amd64.s) on the longest
// prefix it takes and returns its length.
func dequantBytesVec(dst []float32, src []byte, u8 bool, zp int32, scale float32) int {
	z := float32(zp)
	p8 := (*int8)(unsafe.Pointer(unsafe.SliceData(src)))
	switch {
	case f32Wide && len(src) >= 64:
		v := len(src) &^ 63
		if u8 {
			dequantU8F32AVX512(&dst[0], &src[0], v, z, scale)
		} else {
			dequantI8F32AVX512(&dst[0], p8, v, z, scale)
		}
		return v
	case f32Path != isaGo && len(src) >= 32:
		v := len(src) &^ 31
		if u8 {
			dequantU8F32AVX2(&dst[0], &src[0], v, z, scale)
		} else {
			dequantI8F32AVX2(&dst[0], p8, v, z, scale)
		}
		return v
	}
	return 0
}
