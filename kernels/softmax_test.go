package kernels

import (
	"math"
	"math/rand/v2"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSoftmaxRowF32 checks the softmax rows on every dispatch path against a
// float64 reference: lengths around the vector widths, wide ranges (very
// negative logits underflow to 0), equal logits, in place.
func TestSoftmaxRowF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{1, 2, 7, 8, 15, 16, 17, 31, 64, 197, 1000} {
			for _, scale := range []float32{0, 1, 10, 60} {
				src := make([]float32, n)
				for i := range src {
					src[i] = (r.Float32()*2 - 1) * scale
				}
				if n > 3 {
					src[n/2] = -1e30 // exp underflows to 0
				}
				want := make([]float64, n)
				mx := math.Inf(-1)
				for _, v := range src {
					mx = math.Max(mx, float64(v))
				}
				var s float64
				for i, v := range src {
					want[i] = math.Exp(float64(v) - mx)
					s += want[i]
				}
				got := make([]float32, n)
				SoftmaxRowF32(got, src)
				var sum float64
				for i := range got {
					if !assert.InDelta(quietT{}, want[i]/s, float64(got[i]), 2e-6*math.Max(1, want[i]/s)) {
						require.InDelta(t, want[i]/s, float64(got[i]), 2e-6*math.Max(1, want[i]/s), "n=%d scale=%v i=%d", n, scale, i)
					}
					sum += float64(got[i])
				}
				if !assert.InDelta(quietT{}, 1, sum, 1e-5) {
					require.InDelta(t, 1, sum, 1e-5)
				}
				SoftmaxRowF32(src, src) // in place
				if !assert.Equal(quietT{}, got, src) {
					require.Equal(t, got, src)
				}
			}
		}
	})
}

// TestSoftmaxRowF32FlushesSubnormals checks, on every dispatch path, that logits
// 87-104 below the row's maximum (whose probabilities are subnormal in float32)
// come out as exact zeros, and that no output is subnormal; the rest still
// matches the reference and sums to 1. The row kernels run with flush-to-zero
// set in MXCSR (eighteenth session): afterwards Go's own float arithmetic
// must produce subnormals again.
func TestSoftmaxRowF32FlushesSubnormals(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		goruntime.LockOSThread() // the MXCSR checks below: the kernels' thread
		defer goruntime.UnlockOSThread()
		for _, n := range []int{5, 16, 33, 100} {
			src := make([]float32, n)
			for i := range src {
				src[i] = -87.5 - 16*float32(i)/float32(n) // subnormal after exp
			}
			src[0], src[n-1] = 0, -1
			got := make([]float32, n)
			SoftmaxRowF32(got, src)
			tiny := []float32{1e-30, 1e-10, 1e-40, 2}
			require.NotZero(t, tiny[0]*tiny[1], "MXCSR left with flush-to-zero")
			require.NotZero(t, tiny[2]*tiny[3], "MXCSR left with denormals-are-zero")
			var sum float64
			for i, v := range got {
				b := math.Float32bits(v)
				if !assert.False(quietT{}, b != 0 && b < 0x00800000) {
					require.False(t, b != 0 && b < 0x00800000, "n=%d i=%d: subnormal %g", n, i, v)
				}
				if i > 0 && i < n-1 {
					require.Zero(t, v, "n=%d i=%d", n, i)
				}
				sum += float64(v)
			}
			if !assert.InDelta(quietT{}, 1/(1+math.Exp(-1)), float64(got[0]), 1e-6) {
				require.InDelta(t, 1/(1+math.Exp(-1)), float64(got[0]), 1e-6)
			}
			if !assert.InDelta(quietT{}, 1, sum, 1e-6) {
				require.InDelta(t, 1, sum, 1e-6)
			}
		}
	})
}

// TestLayerNormRowF32 checks one-pass row normalisation against float64 on
// every dispatch path, with and without scale and bias.
func TestLayerNormRowF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, n := range []int{1, 5, 8, 16, 33, 49, 96, 97, 768} {
			src, scale, bias := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range src {
				src[i] = r.Float32()*8 - 3
				scale[i] = r.Float32()*2 - 1
				bias[i] = r.Float32() - 0.5
			}
			var mean, q float64
			for _, v := range src {
				mean += float64(v)
			}
			mean /= float64(n)
			for _, v := range src {
				q += (float64(v) - mean) * (float64(v) - mean)
			}
			inv := 1 / math.Sqrt(q/float64(n)+1e-5)
			for _, withParams := range []bool{false, true} {
				got := make([]float32, n)
				if withParams {
					LayerNormRowF32(got, src, scale, bias, 1e-5)
				} else {
					LayerNormRowF32(got, src, nil, nil, 1e-5)
				}
				for i, v := range src {
					want := (float64(v) - mean) * inv
					if withParams {
						want = want*float64(scale[i]) + float64(bias[i])
					}
					if !assert.InDelta(quietT{}, want, float64(got[i]), 3e-6*math.Max(1, math.Abs(want))) {
						require.InDelta(t, want, float64(got[i]), 3e-6*math.Max(1, math.Abs(want)), "n=%d i=%d", n, i)
					}
				}
			}
		}
	})
}

// TestSoftmaxAddRowF32 checks softmax(src + bias) on every dispatch path
// against float64, with a mask of large negative values (a shifted-window
// attention mask) and in place.
func TestSoftmaxAddRowF32(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, n := range []int{1, 7, 16, 17, 49, 197} {
			src, bias := make([]float32, n), make([]float32, n)
			for i := range src {
				src[i] = r.Float32()*6 - 3
				bias[i] = r.Float32() - 0.5
				if i%5 == 2 {
					bias[i] = -100
				}
			}
			want := make([]float64, n)
			mx := math.Inf(-1)
			for i := range src {
				want[i] = float64(src[i] + bias[i])
				mx = math.Max(mx, want[i])
			}
			var s float64
			for i := range want {
				want[i] = math.Exp(want[i] - mx)
				s += want[i]
			}
			got := make([]float32, n)
			SoftmaxAddRowF32(got, src, bias)
			for i := range got {
				if !assert.InDelta(quietT{}, want[i]/s, float64(got[i]), 2e-6*math.Max(1, want[i]/s)) {
					require.InDelta(t, want[i]/s, float64(got[i]), 2e-6*math.Max(1, want[i]/s), "n=%d i=%d", n, i)
				}
			}
			SoftmaxAddRowF32(src, src, bias)
			if !assert.Equal(quietT{}, got, src) {
				require.Equal(t, got, src)
			}
		}
	})
}

// BenchmarkSoftmaxRowF32 times 64 rows of ViT-B/16's 197-wide attention
// scores (divide ns/op by 64 for one row).
func BenchmarkSoftmaxRowF32(b *testing.B) {
	const n, rows = 197, 64
	src := make([]float32, n*rows)
	for i := range src {
		src[i] = float32((i*7919)%2001)/100 - 10
	}
	dst := make([]float32, len(src))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rows; r++ {
			SoftmaxRowF32(dst[r*n:(r+1)*n], src[r*n:(r+1)*n])
		}
	}
}

// BenchmarkSoftmaxRowMasked times one 96-wide Softmax row (relpos_dynhw_op13's
// attention) plain and with half of it masked (−1e4, −Inf, 95 below the
// maximum): the masked entries' exponentials are subnormal, and before the
// row kernels ran under flush-to-zero each took a microcode assist
// (eighteenth session: 2.1-2.9 µs per masked row against 0.06 plain):
//
//	go test ./kernels -run '^$' -bench SoftmaxRowMasked -benchtime 300000x -cpu 1
func BenchmarkSoftmaxRowMasked(b *testing.B) {
	for _, c := range []struct {
		name string
		fill float32
		frac float64
	}{{"plain", 0, 0}, {"neg1e4", -1e4, 0.5}, {"neginf", float32(math.Inf(-1)), 0.5}, {"neg95", -95, 0.5}} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, 96)
			for i := range x {
				x[i] = r.Float32() * 4
				if r.Float64() < c.frac {
					x[i] = c.fill
				}
			}
			d := make([]float32, 96)
			for i := 0; i < b.N; i++ {
				SoftmaxRowF32(d, x)
			}
		})
	}
}
