package graph

import "math"

// Float32ToBFloat16 converts to bfloat16 bits with round half to even (a NaN stays a
// quiet NaN), as ONNX specifies from opset 19 on and ONNX Runtime does.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
