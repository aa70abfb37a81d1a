package kernels

// DequantBytesF32 sets dst[i] = float32(q[i] - zp)·scale for i < len(src),
// where q[i] is src[i] read as int8 (u8 false) or uint8 (u8 true): the
// arithmetic of the runtime's 256-entry dequantization table (and of ONNX
// Runtime's DequantizeLinear), on the vector kernels (twentieth session). zp
// must lie in the type's range.
func DequantBytesF32(dst []float32, src []byte, u8 bool, zp int32, scale float32) {
	dst = dst[:len(src)]
	v := dequantBytesVec(dst, src, u8, zp, scale)
	dequantBytesGo(dst[v:], src[v:], u8, zp, scale)
}

// dequantBytesGo is the reference of DequantBytesF32.
func dequantBytesGo(dst []float32, src []byte, u8 bool, zp int32, scale float32) {
	dst = dst[:len(src)]
	if u8 {
		for i, b := range src {
			dst[i] = float32(int32(b)-zp) * scale
		}
		return
	}
	for i, b := range src {
		dst[i] = float32(int32(int8(b))-zp) * scale
	}
}
