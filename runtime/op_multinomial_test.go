package runtime

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// multinomialRef is the textbook draw: p_i = exp(x_i) / Σ exp(x_j), the first
// class whose cumulative probability exceeds u.
func multinomialRef(logp []float64, u float64) (idx int, margin float64) {
	var total float64
	for _, v := range logp {
		total += math.Exp(v)
	}
	cum := 0.0
	margin = math.Inf(1)
	idx = -1
	for i, v := range logp {
		cum += math.Exp(v) / total
		margin = math.Min(margin, math.Abs(cum-u))
		if idx < 0 && cum > u {
			idx = i
		}
	}
	if idx < 0 {
		idx = len(logp) - 1
	}
	return idx, margin
}

// Property: the kernel's row draw equals the textbook definition for random
// rows (some classes at -inf) and uniforms, away from the class boundaries
// (where rounding may go either way).
func TestMultinomialRowMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	checked := 0
	for trial := 0; trial < 2000; trial++ {
		classes := 1 + rng.IntN(12)
		logp := make([]float64, classes)
		for i := range logp {
			logp[i] = rng.NormFloat64() * 3
			if classes > 1 && rng.IntN(4) == 0 {
				logp[i] = math.Inf(-1)
			}
		}
		if math.IsInf(logp[0], -1) {
			logp[0] = 0.5 // at least one class can be drawn
		}
		u := []float64{rng.Float64(), rng.Float64(), 0}
		out := make([]int64, len(u))
		require.NoError(t, multinomialRow(logp, u, make([]float64, classes), out))
		for k, r := range u {
			want, margin := multinomialRef(logp, r)
			if margin < 1e-9 {
				continue
			}
			checked++
			require.Equal(t, int64(want), out[k], "row %v, u %g", logp, r)
			require.False(t, math.IsInf(logp[out[k]], -1), "a class at -inf was drawn")
		}
	}
	assert.Greater(t, checked, 5000)
}

func multinomialNode(attrs map[string]*graph.Attr) *graph.Node {
	if attrs == nil {
		attrs = map[string]*graph.Attr{}
	}
	return &graph.Node{Name: "mn", OpType: "Multinomial", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: attrs}
}

// The draws of a session: class frequencies of 20,000 draws within 4 standard
// errors of the probabilities (a fixed seed, so the test is deterministic),
// classes at -inf never drawn, the dtype attribute (int32 by default), a
// second run draws anew, and the same seed repeats the sequence.
func TestMultinomialDraws(t *testing.T) {
	const draws = 20000
	logits := []float32{0, float32(math.Log(3)), float32(math.Inf(-1)), float32(math.Log(0.5)), float32(math.Inf(-1))}
	probs := []float64{1 / 4.5, 3 / 4.5, 0, 0.5 / 4.5, 0}
	for _, tc := range []struct {
		name  string
		attrs map[string]*graph.Attr
		want  graph.DType
	}{
		{"int32 default", map[string]*graph.Attr{"sample_size": graph.IntAttr("sample_size", draws), "seed": graph.FloatAttr("seed", 2)}, graph.Int32},
		{"int64", map[string]*graph.Attr{"sample_size": graph.IntAttr("sample_size", draws), "seed": graph.FloatAttr("seed", 3),
			"dtype": graph.IntAttr("dtype", int64(graph.Int64))}, graph.Int64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := graph.NewTensor(graph.Float32, []int{2, 5})
			d := x.Data.([]float32)
			copy(d, logits)
			copy(d[5:], logits)
			run := func() []int64 {
				out, err := runSingleNode(t, 15, multinomialNode(tc.attrs), x)
				require.NoError(t, err)
				require.Equal(t, []int{2, draws}, out[0].Shape)
				require.Equal(t, tc.want, out[0].DType)
				v, err := out[0].AsInt64()
				require.NoError(t, err)
				return v
			}
			first := run()
			count := make([]float64, 5)
			for _, c := range first {
				count[c]++
			}
			for i, p := range probs {
				n := 2.0 * draws
				se := math.Sqrt(p * (1 - p) / n)
				assert.InDelta(t, p, count[i]/n, 4*se+1e-12, "class %d", i)
			}
			assert.Equal(t, first, run(), "the same seed repeats the sequence in a new session")
		})
	}
	// Without a seed two runs of one session differ.
	x := graph.NewTensor(graph.Float64, []int{1, 3})
	copy(x.Data.([]float64), []float64{0, 0, 0})
	n := multinomialNode(map[string]*graph.Attr{"sample_size": graph.IntAttr("sample_size", 64)})
	a, err := runSingleNode(t, 15, n, x)
	require.NoError(t, err)
	b, err := runSingleNode(t, 15, n, x)
	require.NoError(t, err)
	assert.NotEqual(t, a[0].Data, b[0].Data)
}

// One class left (top-p 0 after top-k: the others at -inf) is drawn every time,
// whatever the generator: the deterministic case the unseen17 sampling export
// checks against ONNX Runtime.
func TestMultinomialOneClassLeft(t *testing.T) {
	inf := float32(math.Inf(-1))
	x := graph.NewTensor(graph.Float32, []int{1, 4})
	copy(x.Data.([]float32), []float32{inf, inf, 2.5, inf})
	out, err := runSingleNode(t, 15, multinomialNode(map[string]*graph.Attr{"sample_size": graph.IntAttr("sample_size", 50)}), x)
	require.NoError(t, err)
	for _, v := range out[0].Data.([]int32) {
		require.Equal(t, int32(2), v)
	}
}

// What is refused names the node and the problem.
func TestMultinomialRefusals(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(-1))
	row := func(shape []int, v ...float32) *graph.Tensor {
		x := graph.NewTensor(graph.Float32, shape)
		copy(x.Data.([]float32), v)
		return x
	}
	for _, tc := range []struct {
		name  string
		attrs map[string]*graph.Attr
		x     *graph.Tensor
		want  string
	}{
		{"float output", map[string]*graph.Attr{"dtype": graph.IntAttr("dtype", int64(graph.Float32))}, row([]int{1, 2}, 0, 0),
			`Multinomial "mn": output type float32 is not supported (int32 and int64)`},
		{"no samples", map[string]*graph.Attr{"sample_size": graph.IntAttr("sample_size", 0)}, row([]int{1, 2}, 0, 0),
			`Multinomial "mn": sample_size 0 is not positive`},
		{"rank 3", nil, row([]int{1, 1, 2}, 0, 0), `Multinomial "mn"`},
		{"NaN", nil, row([]int{2, 2}, 0, 0, nan, 1), `Multinomial "mn": row 1: log-probability NaN at class 0`},
		{"all -inf", nil, row([]int{1, 2}, inf, inf), `Multinomial "mn": row 0: no class has a finite log-probability`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runSingleNode(t, 15, multinomialNode(tc.attrs), tc.x)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
