package kernels

import (
	"fmt"
	"math"
)

// Rows of the int8 executor's LayerNorm and Softmax (QLayerNorm, QSoftmax):
// int8 codes in, int8 codes out, the arithmetic of the runtime's reference
// loops (float32 operations one by one, requantization as QuantizeF32). The
// vector prefix runs on AVX2 (kernels/_gen/gen_qrows.go), the tail and the
// pure-Go path on the loops below.

// QLayerNormRowI8 normalizes one row of codes q of scale xScale (the zero
// point cancels): with the mean mq and variance vq of the codes (exact integer
// sums), a = xScale / sqrt(vq·xScale² + eps), and writes
// quantize(((q − mq)·a)·gamma[i] + beta[i]) with yScale and yZP to dst.
// gamma and beta hold at least len(src) values; beta nil means no bias.
func QLayerNormRowI8(dst, src []int8, gamma, beta []float32, xScale, eps, yScale float32, yZP int32) {
	n := len(src)
	if len(dst) < n || len(gamma) < n || beta != nil && len(beta) < n {
		panic(fmt.Sprintf("kernels.QLayerNormRowI8: row %d, dst %d, gamma %d, beta %d", n, len(dst), len(gamma), len(beta)))
	}
	if n == 0 {
		return
	}
	m, a := qrowMeanScale(src, xScale, eps)
	done := 0
	if beta != nil {
		done = qrowNormVec(dst[:n], src, gamma[:n], beta[:n], m, a, yScale, yZP)
	}
	qrowNormGo(dst[done:n], src[done:], gamma[done:n], tailOf(beta, done, n), m, a, yScale, yZP)
}

// qrowMeanScale returns the mean code m of a non-empty row and a, the factor
// that takes a code's distance to it to the normalized value.
func qrowMeanScale(src []int8, xScale, eps float32) (m, a float32) {
	n := len(src)
	s, s2 := qrowStats(src)
	mq := float64(s) / float64(n)
	vq := max(float64(s2)/float64(n)-mq*mq, 0)
	sc := float64(xScale)
	inv := 1 / math.Sqrt(vq*sc*sc+float64(eps))
	return float32(mq), float32(sc * inv)
}

// QInstanceNormRowI8 is QLayerNormRowI8 with one scale gamma and bias beta for
// the whole row (an InstanceNormalization channel, a GroupNorm group): the
// same arithmetic, so the same bits, but as a function of the code only it is
// tabulated once for the row's 256 codes and the row is mapped through the
// table (LUT.Apply) instead of being computed value by value (fourteenth
// session: 1.4 ns a value on the 25600-value groups of groupnorm_net). Rows
// shorter than QInstanceNormLUTMin are not worth a table and take the
// per-value kernel.
func QInstanceNormRowI8(dst, src []int8, gamma, beta float32, xScale, eps, yScale float32, yZP int32) {
	n := len(src)
	if len(dst) < n {
		panic(fmt.Sprintf("kernels.QInstanceNormRowI8: row %d, dst %d", n, len(dst)))
	}
	if n == 0 {
		return
	}
	var g, b [256]float32
	for i := range g {
		g[i], b[i] = gamma, beta
	}
	m, a := qrowMeanScale(src, xScale, eps)
	if n < QInstanceNormLUTMin {
		for lo := 0; lo < n; lo += 256 {
			hi := min(n, lo+256)
			done := qrowNormVec(dst[lo:hi], src[lo:hi], g[:hi-lo], b[:hi-lo], m, a, yScale, yZP)
			qrowNormGo(dst[lo+done:hi], src[lo+done:hi], g[done:hi-lo], b[done:hi-lo], m, a, yScale, yZP)
		}
		return
	}
	var codes [256]int8
	for i := range codes {
		codes[i] = int8(uint8(i))
	}
	var t LUT
	qrowNormGo(t[:], codes[:], g[:], b[:], m, a, yScale, yZP)
	t.Apply(src, dst[:n])
}

// QInstanceNormRowI8 tabulates rows of at least this many values.
const QInstanceNormLUTMin = 512

func tailOf(p []float32, lo, hi int) []float32 {
	if p == nil {
		return nil
	}
	return p[lo:hi]
}

func qrowStatsGo(src []int8) (s, s2 int64) {
	for _, v := range src {
		q := int64(v)
		s += q
		s2 += q * q
	}
	return s, s2
}

func qrowNormGo(dst, src []int8, gamma, beta []float32, m, a, yScale float32, yZP int32) {
	for i, v := range src {
		y := (float32(v) - m) * a * gamma[i]
		if beta != nil {
			y += beta[i]
		}
		dst[i] = quantizeOneF32(y, yScale, yZP)
	}
}

// quantizeOneF32 is QuantizeF32 of one value.
func quantizeOneF32(x, scale float32, zp int32) int8 {
	v := x / scale
	lo, hi := float32(-128-zp), float32(127-zp)
	if !(v > lo) {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return int8(int32(math.RoundToEven(float64(v))) + zp)
}

// QSoftmaxRowI8 writes the softmax of one row of codes to dst: with m the
// largest code, e[i] = exp[m − src[i]] (exp[d] = exp(−xScale·d), built by the
// caller), dst[i] = quantize(e[i] · (1 / Σ e)) with yScale and yZP. buf is
// scratch of at least len(src) floats. On the vector path the sum is taken
// in eight lanes (then the tail in order), so it may differ from a sequential
// sum in the last bit of float32.
func QSoftmaxRowI8(dst, src []int8, exp *[256]float32, buf []float32, yScale float32, yZP int32) {
	n := len(src)
	if len(dst) < n || len(buf) < n {
		panic(fmt.Sprintf("kernels.QSoftmaxRowI8: row %d, dst %d, buf %d", n, len(dst), len(buf)))
	}
	if n == 0 {
		return
	}
	m := qrowMaxI8(src)
	sum, done := qrowExpSumVec(buf[:n], src, exp, m)
	for i := done; i < n; i++ {
		e := exp[m-int32(src[i])]
		buf[i] = e
		sum += e
	}
	inv := 1 / sum
	done = qrowScaleQuantVec(dst[:n], buf[:n], inv, yScale, yZP)
	if done > 0 && done < n {
		// The last vector again, overlapping: the same operations on the
		// same values, no scalar tail.
		done = n - 8 + qrowScaleQuantVec(dst[n-8:n], buf[n-8:n], inv, yScale, yZP)
	}
	for i := done; i < n; i++ {
		dst[i] = quantizeOneF32(buf[i]*inv, yScale, yZP)
	}
}

func qrowMaxI8Go(src []int8) int32 {
	m := int32(-128)
	for _, v := range src {
		m = max(m, int32(v))
	}
	return m
}
