package kernels

import (
	"fmt"
	"math"
)

// SoftmaxRowF32 writes the softmax of src to dst (len(dst) >= len(src); dst
// may be src): dst[i] = exp(src[i] − max) / Σ exp(src[j] − max), with the
// exponentials and their sum in one vector pass (the Cephes expf of the
// activation kernels, a few ulp of float32) on AVX-512 and AVX2, the maximum
// and the final scaling (with the flush of subnormal results to zero)
// vectorised too; a row of 16 or more takes the exponentials of its tail
// from one more vector over its last 16 elements. The Go path, rows under
// 16 and the maximum's and scaling's tails use float64 math.Exp and scalar
// loops. Subnormal results are flushed to zero.
func SoftmaxRowF32(dst, src []float32) {
	n := len(src)
	if len(dst) < n {
		panic(fmt.Sprintf("kernels.SoftmaxRowF32: dst %d < src %d", len(dst), n))
	}
	if n == 0 {
		return
	}
	mx, done := rowMaxAsm(src)
	if done == 0 {
		mx = src[0]
	}
	for _, v := range src[done:] {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	done = 0
	if n >= 16 {
		// The tail past the vector-width prefix: the vector exponentials of
		// the last 16 elements, taken before the prefix pass (dst may be
		// src), instead of float64 math.Exp per element (5 of a 197-wide ViT
		// row, a fifth of its time after the vector scaling pass).
		var tail [16]float32
		_, tailDone := expShiftSumAsm(tail[:], src[n-16:], mx)
		var s float32
		s, done = expShiftSumAsm(dst, src, mx)
		sum = float64(s)
		if tailDone == 16 {
			for i := done; i < n; i++ {
				dst[i] = tail[i-(n-16)]
				sum += float64(dst[i])
			}
			done = n
		}
	}
	for i := done; i < n; i++ {
		e := math.Exp(float64(src[i] - mx))
		dst[i] = float32(e)
		sum += e
	}
	inv := float32(1 / sum)
	done = rowScaleFlushAsm(dst[:n], inv)
	for i := range dst[done:n] {
		dst[done+i] *= inv
	}
	flushSubnormals(dst[done:n])
}

// flushSubnormals sets the subnormal values of p (probabilities: no
// negatives) to zero. exp(x − max) below 2⁻¹²⁶ (scores 87 or more below the
// row's maximum, common in attention with masks or untrained weights) is
// subnormal, and the GEMM that multiplies the probabilities by the values runs
// 25x slower on subnormal operands (microcode assists on x86: a causal
// decoder's p·v took 250 µs instead of 10). The change is below 1.2e-38 per
// probability; ONNX Runtime's softmax produces no subnormals either.
//
// A negative subnormal becomes −0 (the row kernels flush with the CPU's
// flush-to-zero mode, which keeps the sign; probabilities have none).
func flushSubnormals(p []float32) {
	for i, v := range p {
		if b := math.Float32bits(v); b&0x7fffffff != 0 && b&0x7fffffff < 0x00800000 {
			p[i] = math.Float32frombits(b & 0x80000000)
		}
	}
}

// SoftmaxAddRowF32 writes the softmax of src + bias (element by element,
// len(bias) >= len(src)) to dst: the attention scores plus a position bias
// or a mask in one pass per row. dst may be src.
func SoftmaxAddRowF32(dst, src, bias []float32) {
	n := len(src)
	if len(dst) < n || len(bias) < n {
		panic(fmt.Sprintf("kernels.SoftmaxAddRowF32: src %d, dst %d, bias %d", n, len(dst), len(bias)))
	}
	done := rowAddAsm(dst[:n], src, bias[:n])
	for i := done; i < n; i++ {
		dst[i] = src[i] + bias[i]
	}
	SoftmaxRowF32(dst[:n], dst[:n])
}

// SoftmaxAdd2RowF32 writes the softmax of (src + b1) + b2 (element by
// element, in that order, as two Adds compute it; len(b1), len(b2) >=
// len(src)) to dst: scores plus a position bias plus a mask (Swin's shifted
// windows). dst may be src.
func SoftmaxAdd2RowF32(dst, src, b1, b2 []float32) {
	n := len(src)
	if len(dst) < n || len(b1) < n || len(b2) < n {
		panic(fmt.Sprintf("kernels.SoftmaxAdd2RowF32: src %d, dst %d, biases %d and %d", n, len(dst), len(b1), len(b2)))
	}
	done := rowAddAsm(dst[:n], src, b1[:n])
	for i := done; i < n; i++ {
		dst[i] = src[i] + b1[i]
	}
	SoftmaxAddRowF32(dst[:n], dst[:n], b2)
}

// RowMeanVarF32 returns the mean of src and the (biased) variance of its
// deviations from the mean, in two passes: vector float32 partial sums on
// AVX-512/AVX2 (gen_rowstats.go), float64 on the Go path and for the tails.
// The statistics of LayerNormRowF32, and of an instance or group
// normalisation's rows.
func RowMeanVarF32(src []float32) (mean, variance float32) {
	n := len(src)
	if n == 0 {
		return 0, 0
	}
	sv, done := rowSumAsm(src)
	s := float64(sv)
	for _, v := range src[done:] {
		s += float64(v)
	}
	mean = float32(s / float64(n))
	qv, done := rowSqDevSumAsm(src, mean)
	q := float64(qv)
	for _, v := range src[done:] {
		d := float64(v - mean)
		q += d * d
	}
	return mean, float32(q / float64(n))
}

// RowsMeanVarF32 returns the mean and the (biased) variance of the
// deviations from the mean of rows segments of n elements, the first at
// src[0] and each next one stride elements further (a channel's rows over a
// batch: the statistics of a training-mode BatchNormalization), in two
// passes like RowMeanVarF32: vector float32 partial sums per segment,
// float64 across segments and for the tails.
func RowsMeanVarF32(src []float32, rows, n, stride int) (mean, variance float32) {
	if rows <= 0 || n <= 0 {
		return 0, 0
	}
	if stride < n || len(src) < (rows-1)*stride+n {
		panic(fmt.Sprintf("kernels.RowsMeanVarF32: %d rows of %d at stride %d do not fit %d elements", rows, n, stride, len(src)))
	}
	s := 0.0
	for r := 0; r < rows; r++ {
		row := src[r*stride : r*stride+n]
		sv, done := rowSumAsm(row)
		s += float64(sv)
		for _, v := range row[done:] {
			s += float64(v)
		}
	}
	cnt := float64(rows) * float64(n)
	mean = float32(s / cnt)
	q := 0.0
	for r := 0; r < rows; r++ {
		row := src[r*stride : r*stride+n]
		qv, done := rowSqDevSumAsm(row, mean)
		q += float64(qv)
		for _, v := range row[done:] {
			d := float64(v - mean)
			q += d * d
		}
	}
	return mean, float32(q / cnt)
}

// LayerNormRowF32 normalizes one row: dst[i] = (src[i] − mean) / sqrt(var +
// eps) · scale[i] + bias[i] (scale and bias nil for none), with the mean and
// the (biased) variance of the deviations from the mean (two passes), as the
// decomposed ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt / Div of an
// exported LayerNorm computes them up to float32 rounding: vector float32
// partial sums on AVX-512/AVX2 (gen_rowstats.go), float64 on the Go path and
// for the tails. dst may be src.
func LayerNormRowF32(dst, src, scale, bias []float32, eps float32) {
	n := len(src)
	if len(dst) < n || scale != nil && len(scale) < n || bias != nil && len(bias) < n {
		panic(fmt.Sprintf("kernels.LayerNormRowF32: row %d, dst %d, scale %d, bias %d", n, len(dst), len(scale), len(bias)))
	}
	if n == 0 {
		return
	}
	mean, variance := RowMeanVarF32(src)
	inv := 1 / float32(math.Sqrt(float64(variance+eps)))
	var done int
	switch {
	case scale != nil && bias != nil:
		done = rowNormAffineAsm(dst[:n], src, scale[:n], bias[:n], mean, inv)
		for i, v := range src[done:] {
			dst[done+i] = (v-mean)*inv*scale[done+i] + bias[done+i]
		}
	case scale != nil:
		for i, v := range src {
			dst[i] = (v - mean) * inv * scale[i]
		}
	default:
		for i, v := range src {
			dst[i] = (v - mean) * inv
		}
	}
}
