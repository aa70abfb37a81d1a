package runtime

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// randomSession is a session of one random generator node (no constant inputs:
// the *Like forms read a graph input).
func randomSession(t *testing.T, op string, attrs map[string]*graph.Attr) (*Session, map[string]*graph.Tensor) {
	t.Helper()
	g := &graph.Graph{Name: "rnd", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{}}
	n := &graph.Node{Name: "rnd", OpType: op, Outputs: []string{"y"}, Attrs: attrs}
	feed := map[string]*graph.Tensor{}
	if op == "RandomNormalLike" || op == "RandomUniformLike" {
		n.Inputs = []string{"x"}
		x := graph.NewTensor(graph.Float32, []int{100, 100})
		g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(100, 100), HasShape: true}}
		feed["x"] = x
	}
	g.Outputs = []*graph.Value{{Name: "y"}}
	g.Nodes = []*graph.Node{n}
	m := &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 15}}
	s, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
	require.NoError(t, err)
	return s, feed
}

// The random generators: the moments of 10,000 draws are those of the
// distribution (mean ± 4 standard errors, a fixed seed so the test is
// deterministic), uniform draws stay in [low, high), each run draws anew (the
// output is not folded into a constant), and a seed makes a session's sequence
// reproducible.
func TestRandomGenerators(t *testing.T) {
	shape := graph.Int64sAttr("shape", []int64{100, 100})
	for _, tc := range []struct {
		op        string
		attrs     map[string]*graph.Attr
		mean, std float64
		low, high float64
		wantF64   bool
	}{
		{"RandomNormal", map[string]*graph.Attr{"shape": shape, "mean": graph.FloatAttr("mean", 2), "scale": graph.FloatAttr("scale", 0.5),
			"seed": graph.FloatAttr("seed", 3)}, 2, 0.5, math.Inf(-1), math.Inf(1), false},
		{"RandomNormalLike", map[string]*graph.Attr{"seed": graph.FloatAttr("seed", 4)}, 0, 1, math.Inf(-1), math.Inf(1), false},
		{"RandomUniform", map[string]*graph.Attr{"shape": shape, "low": graph.FloatAttr("low", -1), "high": graph.FloatAttr("high", 3),
			"seed": graph.FloatAttr("seed", 5), "dtype": graph.IntAttr("dtype", int64(graph.Float64))}, 1, 4 / math.Sqrt(12), -1, 3, true},
		{"RandomUniformLike", map[string]*graph.Attr{"seed": graph.FloatAttr("seed", 6)}, 0.5, 1 / math.Sqrt(12), 0, 1, false},
	} {
		t.Run(tc.op, func(t *testing.T) {
			s, feed := randomSession(t, tc.op, tc.attrs)
			first, err := s.RunTensors(feed)
			require.NoError(t, err)
			second, err := s.RunTensors(feed)
			require.NoError(t, err)
			y := first["y"]
			require.Equal(t, []int{100, 100}, y.Shape)
			vals, err := y.AsFloat64()
			require.NoError(t, err)
			assert.Equal(t, tc.wantF64, y.DType == graph.Float64)
			var sum, sq float64
			for _, v := range vals {
				sum += v
				sq += v * v
				assert.True(t, v >= tc.low && v < tc.high, "draw %g outside [%g, %g)", v, tc.low, tc.high)
			}
			n := float64(len(vals))
			mean := sum / n
			std := math.Sqrt(sq/n - mean*mean)
			assert.InDelta(t, tc.mean, mean, 4*tc.std/math.Sqrt(n))
			assert.InDelta(t, tc.std, std, 0.05*tc.std)
			again, _ := second["y"].AsFloat64()
			assert.NotEqual(t, vals, again, "a second run draws anew")
			// A new session with the same seed repeats the sequence.
			s2, _ := randomSession(t, tc.op, tc.attrs)
			rerun, err := s2.RunTensors(feed)
			require.NoError(t, err)
			same, _ := rerun["y"].AsFloat64()
			assert.Equal(t, vals, same)
		})
	}
}

// Output types other than float32 and float64 are refused naming the node.
func TestRandomGeneratorRefusals(t *testing.T) {
	n := &graph.Node{Name: "rnd", OpType: "RandomNormal", Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
		"shape": graph.Int64sAttr("shape", []int64{2}), "dtype": graph.IntAttr("dtype", int64(graph.Float16))}}
	_, err := runSingleNode(t, 15, n)
	require.ErrorContains(t, err, `RandomNormal "rnd": output type float16 is not supported`)
	n = &graph.Node{Name: "rnd", OpType: "RandomUniform", Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
	_, err = runSingleNode(t, 15, n)
	require.ErrorContains(t, err, "needs the shape attribute")
}
