package kernels

import "math"

// tanhChunk is the number of floats TanhF32 stages at a time (on the stack).
const tanhChunk = 256

// TanhF32 writes tanh(src[i]) to dst[i]; dst may be src. Where this CPU has a
// vector sigmoid (AVX-512 or AVX2), |x| >= 1/2 is computed as 2·sigmoid(2x)-1
// (no cancellation there: the result is at least tanh(1/2) ≈ 0.46 in
// magnitude, so the sigmoid's few ulp stay under 1e-6 relative) and |x| < 1/2
// by the odd Taylor series to x^13 (truncation under 1e-7 relative), which
// keeps tanh(x) ≈ x exact near 0 where 2·sigmoid(2x)-1 would lose the low
// bits. Elsewhere, and for the tail, float64 math.Tanh rounded once.
func TanhF32(dst, src []float32) {
	if len(dst) < len(src) {
		panic("kernels.TanhF32: dst shorter than src")
	}
	var buf [tanhChunk]float32
	for len(src) > 0 {
		n := min(len(src), tanhChunk)
		s, d, b := src[:n], dst[:n], buf[:n]
		for i, v := range s {
			b[i] = 2 * v
		}
		done := actAsm(ActSigmoid, b, b)
		for i, x := range s[:done] {
			// Branch-free choice between the two forms: conv outputs sit on
			// both sides of 1/2, and a mispredicted branch per element cost
			// more than computing both.
			ax := int32(math.Float32bits(x) & 0x7fffffff)
			m := uint32((ax - 0x3f000000) >> 31) // all ones when |x| < 1/2 (never for NaN)
			t, v := math.Float32bits(tanhSmall(x)), math.Float32bits(2*b[i]-1)
			d[i] = math.Float32frombits(t&m | v&^m)
		}
		for i := done; i < n; i++ {
			d[i] = float32(math.Tanh(float64(s[i])))
		}
		src, dst = src[n:], dst[n:]
	}
}

// tanhSmall is tanh's Taylor series to x^13 for |x| < 1/2.
func tanhSmall(x float32) float32 {
	z := x * x
	p := float32(21844.0 / 6081075)
	p = p*z - 1382.0/155925
	p = p*z + 62.0/2835
	p = p*z - 17.0/315
	p = p*z + 2.0/15
	p = p*z - 1.0/3
	return x + x*z*p
}
