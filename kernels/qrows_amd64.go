//go:build amd64 && !purego && !noasm

package kernels

import "math"

// Dispatch of the int8 LayerNorm and Softmax rows (kernels/_gen/gen_qrows.go):
// the assembly covers the vector-aligned prefix and returns its length; the
// callers finish the tail with the Go loops.

// qrowStatsChunk bounds one call of qrowStatsAVX2: 65536 squares of at most
// 128² stay within int32.
const qrowStatsChunk = 1 << 16

func qrowStats(src []int8) (s, s2 int64) {
	v := 0
	if simdPath != isaGo {
		var out [2]int32
		for len(src)-v >= 16 {
			c := min(len(src)-v, qrowStatsChunk) &^ 15
			qrowStatsAVX2(&src[v], c, &out)
			s += int64(out[0])
			s2 += int64(out[1])
			v += c
		}
	}
	ts, ts2 := qrowStatsGo(src[v:])
	return s + ts, s2 + ts2
}

func qrowNormVec(dst, src []int8, gamma, beta []float32, m, a, yScale float32, yZP int32) int {
	v := len(src) &^ 7
	if simdPath == isaGo || v == 0 || yZP < -128 || yZP > 127 {
		return 0
	}
	_, _, _ = dst[v-1], gamma[v-1], beta[v-1]
	p := [6]int32{f32bits(m), f32bits(a), f32bits(yScale), f32bits(float32(-128 - yZP)), f32bits(float32(127 - yZP)), yZP}
	qrowNormAVX2(&dst[0], &src[0], &gamma[0], &beta[0], v, &p)
	return v
}

func qrowExpSumVec(dst []float32, src []int8, exp *[256]float32, m int32) (float32, int) {
	v := len(src) &^ 7
	if simdPath == isaGo || v == 0 {
		return 0, 0
	}
	_ = dst[v-1]
	return qrowExpSumAVX2(&dst[0], &src[0], &exp[0], v, m), v
}

func qrowScaleQuantVec(dst []int8, src []float32, c, yScale float32, yZP int32) int {
	v := len(src) &^ 7
	if simdPath == isaGo || v == 0 || yZP < -128 || yZP > 127 {
		return 0
	}
	_ = dst[v-1]
	p := [5]int32{f32bits(c), f32bits(yScale), f32bits(float32(-128 - yZP)), f32bits(float32(127 - yZP)), yZP}
	qrowScaleQuantAVX2(&src[0], &dst[0], v, &p)
	return v
}

func f32bits(x float32) int32 { return int32(math.Float32bits(x)) }

// qrowMaxI8 returns the largest code of src (len(src) ≥ 1).
func qrowMaxI8(src []int8) int32 {
	if simdPath != isaGo && len(src) >= 16 {
		return qrowMaxI8AVX2(&src[0], len(src))
	}
	return qrowMaxI8Go(src)
}
