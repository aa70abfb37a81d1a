package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRowStatsAsm checks the vector row passes (gen_rowstats.go) against
// float64 loops on every dispatch path: the covered prefix is the longest
// multiple of the vector width (nothing on the Go path), and the sums,
// maximum, normalisation and scaling of that prefix match, for lengths
// around the widths and rows offset far from zero.
func TestRowStatsAsm(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		w := rowLanes()
		r := rand.New(rand.NewPCG(11, 12))
		for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 49, 96, 100, 768} {
			for _, off := range []float32{0, -50, 1000} {
				src, scale, bias := make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range src {
					src[i] = off + r.Float32()*8 - 3
					scale[i] = r.Float32()*2 - 1
					bias[i] = r.Float32() - 0.5
				}
				want := 0
				if w > 0 {
					want = n / w * w
				}
				sum, done := rowSumAsm(src)
				if !assert.Equal(quietT{}, want, done) {
					require.Equal(t, want, done, "n=%d", n)
				}
				var ws, wq float64
				wmax := math.Inf(-1)
				for _, v := range src[:done] {
					ws += float64(v)
					wmax = math.Max(wmax, float64(v))
				}
				if !assert.InDelta(quietT{}, ws, float64(sum), 1e-6*float64(n)*(math.Abs(float64(off))+5)) {
					require.InDelta(t, ws, float64(sum), 1e-6*float64(n)*(math.Abs(float64(off))+5), "sum n=%d", n)
				}
				mean := float32(float64(off) + 0.5)
				for _, v := range src[:done] {
					wq += (float64(v) - float64(mean)) * (float64(v) - float64(mean))
				}
				q, done := rowSqDevSumAsm(src, mean)
				if !assert.Equal(quietT{}, want, done) {
					require.Equal(t, want, done)
				}
				if !assert.InDelta(quietT{}, wq, float64(q), 1e-5*math.Max(1, wq)) {
					require.InDelta(t, wq, float64(q), 1e-5*math.Max(1, wq), "sqdev n=%d", n)
				}
				if done > 0 {
					mx, done := rowMaxAsm(src)
					if !assert.Equal(quietT{}, want, done) {
						require.Equal(t, want, done)
					}
					if !assert.Equal(quietT{}, float32(wmax), mx) {
						require.Equal(t, float32(wmax), mx, "max n=%d", n)
					}
				}
				inv := float32(0.37)
				dst := make([]float32, n)
				done = rowNormAffineAsm(dst, src, scale, bias, mean, inv)
				if !assert.Equal(quietT{}, want, done) {
					require.Equal(t, want, done)
				}
				for i := 0; i < done; i++ {
					e := (float64(src[i])-float64(mean))*float64(inv)*float64(scale[i]) + float64(bias[i])
					if !assert.InDelta(quietT{}, e, float64(dst[i]), 2e-6*math.Max(1, math.Abs(e))) {
						require.InDelta(t, e, float64(dst[i]), 2e-6*math.Max(1, math.Abs(e)), "norm n=%d i=%d", n, i)
					}
				}
				for i := done; i < n; i++ {
					require.Zero(t, dst[i], "past the prefix")
				}
				sum2 := make([]float32, n)
				done = rowAddAsm(sum2, src, bias)
				if !assert.Equal(quietT{}, want, done) {
					require.Equal(t, want, done)
				}
				for i := 0; i < done; i++ {
					if !assert.Equal(quietT{}, src[i]+bias[i], sum2[i]) {
						require.Equal(t, src[i]+bias[i], sum2[i], "add n=%d i=%d", n, i)
					}
				}
				cp := append([]float32(nil), src...)
				done = rowScaleFlushAsm(cp, 1.5)
				if !assert.Equal(quietT{}, want, done) {
					require.Equal(t, want, done)
				}
				for i := range cp {
					e := src[i]
					if i < done {
						e *= 1.5
					}
					if !assert.Equal(quietT{}, e, cp[i]) {
						require.Equal(t, e, cp[i], "scale n=%d i=%d", n, i)
					}
				}
			}
		}
	})
}

// TestRowScaleFlushAsm checks the scaling pass of Softmax on every dispatch
// path against the scalar product followed by flushSubnormals: products that
// are subnormals become zeros of their sign; zeros, normals, infinities and
// NaNs pass unchanged, in every lane position.
func TestRowScaleFlushAsm(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		special := []float32{0, float32(math.Copysign(0, -1)), 1e-39, -1e-39, 1.1754942e-38, 1.1754944e-38,
			1.2e-38, 1e-45, 3e-38, 0.5, -2, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
		for _, n := range []int{0, 5, 8, 16, 17, 40, 197} {
			for _, c := range []float32{1, 0.25, 1e-30} {
				src := make([]float32, n)
				for i := range src {
					if r.IntN(2) == 0 {
						src[i] = special[r.IntN(len(special))]
					} else {
						src[i] = r.Float32() * 1e-8
					}
				}
				want := make([]float32, n)
				for i, v := range src {
					want[i] = v * c
				}
				flushSubnormals(want)
				got := append([]float32(nil), src...)
				done := rowScaleFlushAsm(got, c)
				for i := done; i < n; i++ {
					got[i] *= c
				}
				flushSubnormals(got[done:])
				for i := range want {
					if !assert.Equal(quietT{}, math.Float32bits(want[i]), math.Float32bits(got[i])) {
						require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]),
							"n=%d c=%g i=%d src=%g: want %g got %g", n, c, i, src[i], want[i], got[i])
					}
				}
			}
		}
	})
}

// rowLanes is the vector width of the row passes on the current path (0 on
// the Go path), probed through them.
func rowLanes() int {
	_, d16 := rowSumAsm(make([]float32, 16))
	_, d8 := rowSumAsm(make([]float32, 8))
	switch {
	case d16 == 0:
		return 0
	case d8 == 8:
		return 8
	}
	return 16
}
