package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// fakeQuantRef is fakeQuant with the rounding done by math.RoundToEven.
func fakeQuantRef(x float32, scale float32, zp int) float32 {
	lo, hi := float32(-128-zp), float32(127-zp)
	v := x / scale
	if !(v > lo) {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return float32(math.RoundToEven(float64(v))) * scale
}

// TestFakeQuantRounding checks fakeQuant bit for bit against math.RoundToEven on
// ties (half-integers), values next to them, saturating values, NaN-free random
// inputs and the extreme zero points.
func TestFakeQuantRounding(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, zp := range []int{-128, -37, 0, 5, 127, 128} {
		for _, scale := range []float32{1, 0.5, 0.0173, 3.1e-5, 7.25} {
			var xs []float32
			for k := -600; k <= 600; k++ {
				h := float32(k) / 2 * scale
				xs = append(xs, h, math.Nextafter32(h, -1e9), math.Nextafter32(h, 1e9))
			}
			for i := 0; i < 2000; i++ {
				xs = append(xs, float32(rng.NormFloat64()*300)*scale)
			}
			xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e30, -1e30, float32(math.Inf(1)), float32(math.Inf(-1)))
			for _, x := range xs {
				want, got := fakeQuantRef(x, scale, zp), fakeQuant(x, scale, zp)
				require.Equal(t, math.Float32bits(want), math.Float32bits(got), "x=%g scale=%g zp=%d: %g != %g", x, scale, zp, got, want)
			}
		}
	}
}

// BenchmarkFakeQuant times fakeQuant (inlined, as in fqOp.forward) against the
// float64 rounding over 64K values.
func BenchmarkFakeQuant(b *testing.B) {
	xs, ys := make([]float32, 1<<16), make([]float32, 1<<16)
	for i := range xs {
		xs[i] = float32(i%1000-300) / 97
	}
	b.Run("magic", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j, x := range xs {
				ys[j] = fakeQuant(x, 0.05, 3)
			}
		}
	})
	b.Run("roundtoeven", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j, x := range xs {
				ys[j] = fakeQuantRef(x, 0.05, 3)
			}
		}
	})
}

// TestFakeQuantSlice checks the vectorised fake quantization against fakeQuant,
// value for value (fakeQuant rounds small negatives to -0, DequantizeLinear, as the
// runtime, to +0; the two compare equal and add alike to any nonzero sum), on values that round half-way, saturate, and are not finite, over
// lengths that leave tails to the scalar code and span several int8 buffers.
func TestFakeQuantSlice(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, tc := range []struct {
		scale float32
		zp    int
	}{{0.02, 0}, {0.05, -128}, {0.013, 17}, {1, 127}} {
		for _, n := range []int{1, 7, 33, 2048, 5000} {
			x := make([]float32, n)
			for i := range x {
				switch i % 7 {
				case 0:
					x[i] = (float32(rng.Intn(600)-300) + 0.5) * tc.scale // half-way
				case 1:
					x[i] = float32(rng.NormFloat64()) * 100 * tc.scale // saturates
				default:
					x[i] = float32(rng.NormFloat64()) * 40 * tc.scale
				}
			}
			if n > 4 {
				x[1], x[2], x[3] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
			}
			y := make([]float32, n)
			fakeQuantSlice(x, y, tc.scale, tc.zp)
			for i, v := range x {
				require.True(t, fakeQuant(v, tc.scale, tc.zp) == y[i], "scale %g zp %d x[%d]=%g", tc.scale, tc.zp, i, v)
			}
		}
	}
}

// TestClampWeightCodeMatchesMathMinMax checks the builtin clamp of the weights'
// codes bit for bit against math.Max(-127, math.Min(127, q)), the form it replaced
// (a NaN stays a NaN; its payload is not compared).
func TestClampWeightCodeMatchesMathMinMax(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 126.5, 127, 127.5, 128, -127, -128, -127.5, 1e30, -1e30,
		math.Inf(1), math.Inf(-1), math.NaN(), 5e-324, -5e-324}
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 1000; i++ {
		vals = append(vals, math.RoundToEven(rng.NormFloat64()*100))
	}
	for _, q := range vals {
		want := math.Max(-127, math.Min(127, q))
		if math.IsNaN(want) {
			require.True(t, math.IsNaN(clampWeightCode(q)))
			continue
		}
		require.Equal(t, math.Float64bits(want), math.Float64bits(clampWeightCode(q)), "q = %v", q)
	}
}

// TestEMARangeIgnoresInfinities: infinities a model makes on purpose (a max
// pool's -inf padding, TF "SAME" pooling as EfficientDet's) move the fake
// quantization's moving range by the finite values only; it went to -inf, the
// scale to +inf, and the loss to NaN at the first step whatever the learning
// rate. (A causal mask of -inf, sampling_decode_op15 of the export sets, is the
// same path: markInfinite.)
func TestEMARangeIgnoresInfinities(t *testing.T) {
	ninf := float32(math.Inf(-1))
	for _, tc := range []struct {
		name string
		m    *graph.Model
		in   []int
	}{
		{"a max pool's -inf padding", tinyModel{[]int{2, 4, 4}, []*graph.Node{
			node("Conv", []string{"x", "w"}, "c", ints("kernel_shape", 1, 1)),
			node("Pad", []string{"c", "p", "v"}, "pd"),
			node("MaxPool", []string{"pd"}, "mp", ints("kernel_shape", 3, 3), ints("strides", 2, 2)),
			node("Flatten", []string{"mp"}, "f"), node("Gemm", []string{"f", "wf"}, "y", intAttr("transB", 1))},
			map[string]*graph.Tensor{"w": graph.FromFloat32([]int{3, 2, 1, 1}, []float32{1, 0.5, -0.5, 1, 0.3, 0.7}),
				"p": i64(0, 0, 1, 1, 0, 0, 1, 1), "v": graph.ScalarFloat32(ninf),
				"wf": graph.FromFloat32([]int{2, 12}, make([]float32, 24))}}.model(), []int{2, 4, 4}},
		// ReLU linear attention's normalisation: v / (Σ relu(k) + ε) with ε far
		// below the grid's step. Where relu(k) is 0 the int8 grid rounds the
		// denominator to an exact 0 and v/0 is infinite, which the next fake
		// quantization (as the int8 executor) saturates: its moving range takes
		// the finite values, and the STE's zero gradient there passes nothing
		// back through the division's 1/0 (0·∞ would be NaN in v's weights).
		{"a division by a sum the grid rounds to zero", tinyModel{[]int{4}, []*graph.Node{
			node("Gemm", []string{"x", "wk"}, "k", intAttr("transB", 1)),
			node("Relu", []string{"k"}, "r"),
			node("Gemm", []string{"x", "wv"}, "v", intAttr("transB", 1)),
			node("Add", []string{"r", "eps"}, "den"),
			node("Div", []string{"v", "den"}, "q"),
			node("Gemm", []string{"q", "wf"}, "y", intAttr("transB", 1))},
			map[string]*graph.Tensor{"eps": graph.ScalarFloat32(1e-17),
				"wk": graph.FromFloat32([]int{4, 4}, []float32{1, -1, 0.5, 0, -1, 1, 0, 0.5, 0.3, 0.3, -0.9, 0.2, -0.2, 0.4, 0.1, -0.6}),
				"wv": graph.FromFloat32([]int{4, 4}, []float32{0.2, 0.1, -0.3, 0.4, 0.5, -0.2, 0.1, 0.3, -0.1, 0.6, 0.2, -0.4, 0.3, 0.3, 0.3, 0.3}),
				"wf": graph.FromFloat32([]int{2, 4}, []float32{0.5, -0.25, 0.1, 0.3, -0.4, 0.2, 0.6, -0.1})}}.model(), []int{4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New(tc.m, Config{Threads: 1})
			require.NoError(t, err)
			setCalibratedRanges(t, n, randomBatches{"x", tc.in, 8, 3})
			stats, err := n.Fit(constData{16, 1}, Options{LR: 0.01, Batch: 8, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
			require.NoError(t, err)
			require.False(t, math.IsNaN(stats[0].Loss))
			for name, r := range n.ranges {
				bad := math.IsInf(float64(r.lo), 0) || math.IsNaN(float64(r.lo)) || math.IsInf(float64(r.hi), 0) || math.IsNaN(float64(r.hi))
				require.False(t, bad, "range of %s: [%v, %v]", name, r.lo, r.hi)
			}
		})
	}
}

// TestZeroGradientThroughSingularDerivative: where the loss's gradient is 0
// (an output the next fake quantization saturated), an operator whose local
// derivative is infinite there (1/x, sqrt, log at 0; a division by 0) passes 0,
// not 0·∞ = NaN; elsewhere its gradient is the derivative's.
func TestZeroGradientThroughSingularDerivative(t *testing.T) {
	for _, tc := range []struct {
		node *graph.Node
		want []float32 // d/dx at x = 1, 4, 0.25 (x = 0 passes 0)
	}{
		{node("Reciprocal", []string{"x"}, "y"), []float32{-1, -1.0 / 16, -16}},
		{node("Sqrt", []string{"x"}, "y"), []float32{0.5, 0.25, 1}},
		{node("Log", []string{"x"}, "y"), []float32{1, 0.25, 4}},
		{node("Div", []string{"one", "x"}, "y"), []float32{-1, -1.0 / 16, -16}},
	} {
		t.Run(tc.node.OpType, func(t *testing.T) {
			m := tinyModel{[]int{4}, []*graph.Node{tc.node}, map[string]*graph.Tensor{"one": graph.ScalarFloat32(1)}}.model()
			n, err := New(m, Config{FloatOnly: true, Threads: 1})
			require.NoError(t, err)
			n.inputGrad = true
			_, _, err = n.Forward([]float32{0, 1, 4, 0.25}, 1)
			require.NoError(t, err)
			n.Backward([]float32{0, 1, 1, 1})
			g := n.vals[n.input].grad
			require.Equal(t, float32(0), g[0], "x = 0")
			require.InDeltaSlice(t, tc.want, g[1:], 1e-6)
		})
	}
}
