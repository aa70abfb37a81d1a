package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refQLayerNormRow is the int8 executor's LayerNorm loop as it was before the
// vector rows (runtime/op_int8.go): the results must be the same codes.
func refQLayerNormRow(src []int8, gamma, beta []float32, xScale, eps, yScale float32, yZP int32) []int8 {
	n := len(src)
	var s, s2 int64
	for _, v := range src {
		s += int64(v)
		s2 += int64(v) * int64(v)
	}
	mq := float64(s) / float64(n)
	vq := max(float64(s2)/float64(n)-mq*mq, 0)
	sc := float64(xScale)
	inv := 1 / math.Sqrt(vq*sc*sc+float64(eps))
	a, m := float32(sc*inv), float32(mq)
	out := make([]int8, n)
	for i, v := range src {
		y := (float32(v) - m) * a * gamma[i]
		if beta != nil {
			y += beta[i]
		}
		out[i] = refQuantizeOne(y, yScale, yZP)
	}
	return out
}

func refQuantizeOne(x, scale float32, zp int32) int8 {
	v := x / scale
	if lo := float32(-128 - zp); !(v > lo) {
		v = lo
	}
	if hi := float32(127 - zp); v > hi {
		v = hi
	}
	return int8(int32(math.RoundToEven(float64(v))) + zp)
}

// refQSoftmaxRow is the int8 Softmax loop with its sum taken in the given
// number of lanes over the lanes-aligned prefix, reduced as the AVX2 kernel
// reduces them, then the tail in order (lanes 1: the old sequential loop).
func refQSoftmaxRow(src []int8, exp *[256]float32, yScale float32, yZP int32, lanes int) []int8 {
	n := len(src)
	m := int32(-128)
	for _, v := range src {
		m = max(m, int32(v))
	}
	e := make([]float32, n)
	for i, v := range src {
		e[i] = exp[m-int32(v)]
	}
	var sum float32
	done := 0
	if lanes == 8 && n >= 8 {
		done = n &^ 7
		var l [8]float32
		for i := 0; i < done; i++ {
			l[i%8] += e[i]
		}
		sum = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
	}
	for _, v := range e[done:] {
		sum += v
	}
	inv := 1 / sum
	out := make([]int8, n)
	for i, v := range e {
		out[i] = refQuantizeOne(v*inv, yScale, yZP)
	}
	return out
}

func qrowTestCodes(r *rand.Rand, n int, kind int) []int8 {
	src := make([]int8, n)
	for i := range src {
		switch kind {
		case 0: // full range
			src[i] = int8(r.IntN(256) - 128)
		case 1: // narrow, off centre
			src[i] = int8(r.IntN(9) + 40)
		case 2: // constant
			src[i] = -7
		case 3: // extremes
			src[i] = []int8{-128, 127}[r.IntN(2)]
		}
	}
	return src
}

func TestQLayerNormRowI8(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, n := range []int{1, 7, 8, 15, 16, 17, 49, 96, 97, 384, 768} {
			for kind := 0; kind < 4; kind++ {
				src := qrowTestCodes(r, n, kind)
				gamma, beta := make([]float32, n), make([]float32, n)
				for i := range gamma {
					gamma[i] = r.Float32()*2 - 0.5
					beta[i] = r.Float32() - 0.5
				}
				if n > 9 {
					gamma[9] = float32(math.NaN()) // a NaN output becomes -128 on every path
				}
				for _, p := range []struct {
					xs, eps, ys float32
					zp          int32
				}{{0.05, 1e-5, 0.03, 0}, {0.5, 1e-6, 0.01, -20}, {3e-3, 1e-5, 0.5, 127}, {0.1, 0, 1e-4, -128}} {
					for _, withBias := range []bool{true, false} {
						b := beta
						if !withBias {
							b = nil
						}
						got := make([]int8, n)
						QLayerNormRowI8(got, src, gamma, b, p.xs, p.eps, p.ys, p.zp)
						if !assert.Equal(quietT{}, refQLayerNormRow(src, gamma, b, p.xs, p.eps, p.ys, p.zp), got) {
							require.Equal(t, refQLayerNormRow(src, gamma, b, p.xs, p.eps, p.ys, p.zp), got,
								"n %d kind %d params %+v bias %v", n, kind, p, withBias)
						}
						if withBias && simdPath != isaGo {
							// the vector prefix did run
							if !assert.Equal(quietT{}, n&^7, qrowNormVec(got, src, gamma, b, 0, 1, p.ys, p.zp)) {
								require.Equal(t, n&^7, qrowNormVec(got, src, gamma, b, 0, 1, p.ys, p.zp))
							}
						}
					}
				}
			}
		}
	})
}

// TestQLayerNormRowI8LongRow crosses the int32 chunk bound of the statistics.
func TestQLayerNormRowI8LongRow(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		n := 3*qrowStatsChunkTest + 40
		src := qrowTestCodes(r, n, 3)
		gamma, beta := make([]float32, n), make([]float32, n)
		for i := range gamma {
			gamma[i], beta[i] = 1, 0.25
		}
		got := make([]int8, n)
		QLayerNormRowI8(got, src, gamma, beta, 0.02, 1e-5, 0.02, 3)
		require.Equal(t, refQLayerNormRow(src, gamma, beta, 0.02, 1e-5, 0.02, 3), got)
	})
}

const qrowStatsChunkTest = 1 << 16

func TestQSoftmaxRowI8(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		lanes := 8
		if simdPath == isaGo {
			lanes = 1
		}
		r := rand.New(rand.NewPCG(15, 16))
		for _, xs := range []float32{0.02, 0.1, 1.5} {
			var exp [256]float32
			for d := range exp {
				exp[d] = float32(math.Exp(-float64(xs) * float64(d)))
			}
			for _, n := range []int{1, 7, 8, 9, 16, 49, 64, 100, 197} {
				for kind := 0; kind < 4; kind++ {
					src := qrowTestCodes(r, n, kind)
					for _, q := range []struct {
						ys float32
						zp int32
					}{{1.0 / 255, -128}, {1.0 / 127, 0}, {0.002, -128}} {
						got := make([]int8, n)
						buf := make([]float32, n)
						QSoftmaxRowI8(got, src, &exp, buf, q.ys, q.zp)
						if !assert.Equal(quietT{}, refQSoftmaxRow(src, &exp, q.ys, q.zp, lanes), got) {
							require.Equal(t, refQSoftmaxRow(src, &exp, q.ys, q.zp, lanes), got, "n %d kind %d xs %g", n, kind, xs)
						}
						if _, v := qrowExpSumVec(buf, src, &exp, 127); simdPath != isaGo {
							if !assert.Equal(quietT{}, n&^7, v) {
								require.Equal(t, n&^7, v)
							} // the vector prefix did run
						}
						// Against the sequential sum of the old loop: at most one code apart.
						seq := refQSoftmaxRow(src, &exp, q.ys, q.zp, 1)
						for i := range seq {
							if !assert.InDelta(quietT{}, int(seq[i]), int(got[i]), 1) {
								require.InDelta(t, int(seq[i]), int(got[i]), 1, "n %d kind %d element %d", n, kind, i)
							}
						}
					}
				}
			}
		}
	})
}

func TestQRowMaxI8(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, n := range []int{1, 15, 16, 17, 31, 32, 49, 100} {
			for pos := 0; pos < n; pos += max(1, n/7) {
				src := make([]int8, n)
				for i := range src {
					src[i] = int8(r.IntN(200) - 128)
				}
				src[pos] = int8(72 + r.IntN(56))
				if !assert.Equal(quietT{}, qrowMaxI8Go(src), qrowMaxI8(src)) {
					require.Equal(t, qrowMaxI8Go(src), qrowMaxI8(src), "n %d max at %d", n, pos)
				}
			}
			all := make([]int8, n)
			for i := range all {
				all[i] = -128
			}
			if !assert.Equal(quietT{}, int32(-128), qrowMaxI8(all)) {
				require.Equal(t, int32(-128), qrowMaxI8(all))
			}
		}
	})
}

// TestQInstanceNormRowI8 checks the tabulated one-scale row against the
// per-value reference (refQLayerNormRow with the scale and bias repeated):
// short rows on the per-value kernel, long ones through the table.
func TestQInstanceNormRowI8(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		for _, n := range []int{1, 9, 255, 256, 300, QInstanceNormLUTMin - 1, QInstanceNormLUTMin, 1000, 6400, 25600} {
			for kind := 0; kind < 4; kind++ {
				src := qrowTestCodes(r, n, kind)
				for _, p := range []struct {
					xs, eps, ys, gamma, beta float32
					zp                       int32
				}{{0.05, 1e-5, 0.03, 1.3, -0.2, 0}, {0.5, 1e-6, 0.01, -0.7, 0.4, -20}, {3e-3, 1e-5, 0.5, 0.01, 0, 127}, {0.1, 0, 1e-4, 2, 1, -128}} {
					gamma, beta := make([]float32, n), make([]float32, n)
					for i := range gamma {
						gamma[i], beta[i] = p.gamma, p.beta
					}
					got := make([]int8, n+1)
					got[n] = 99
					QInstanceNormRowI8(got[:n], src, p.gamma, p.beta, p.xs, p.eps, p.ys, p.zp)
					if !assert.Equal(quietT{}, refQLayerNormRow(src, gamma, beta, p.xs, p.eps, p.ys, p.zp), got[:n]) {
						require.Equal(t, refQLayerNormRow(src, gamma, beta, p.xs, p.eps, p.ys, p.zp), got[:n],
							"n %d kind %d params %+v", n, kind, p)
					}
					if !assert.Equal(quietT{}, int8(99), got[n]) {
						require.Equal(t, int8(99), got[n])
					}
				}
			}
		}
	})
}
