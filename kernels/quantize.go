package kernels

import "math"

// QuantizeF32 is ONNX QuantizeLinear to int8: out = saturate(roundHalfToEven(in/scale) + zp),
// computed as MLAS does (float32 division, clamp to [-128-zp, 127-zp] in float,
// round half to even, add zp). NaN maps to -128.
func QuantizeF32(in []float32, scale float32, zp int32, out []int8) {
	_ = out[:len(in)]
	v := quantizeF32Vec(in, scale, zp, out)
	quantizeF32Go(in[v:], scale, zp, out[v:])
}

func quantizeF32Go(in []float32, scale float32, zp int32, out []int8) {
	lo := float32(-128 - zp)
	hi := float32(127 - zp)
	for i, x := range in {
		v := x / scale
		if !(v > lo) {
			v = lo
		}
		if v > hi {
			v = hi
		}
		out[i] = int8(int32(math.RoundToEven(float64(v))) + zp)
	}
}

// DequantizeI8 is ONNX DequantizeLinear: out = float32(in - zp) * scale.
func DequantizeI8(in []int8, scale float32, zp int32, out []float32) {
	_ = out[:len(in)]
	for i, q := range in {
		out[i] = float32(int32(q)-zp) * scale
	}
}
