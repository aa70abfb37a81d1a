package qat

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// selectModel scores 4 features per sample (x·W), keeps the positive scores
// (NonZero, GatherND: an output whose length is set by the values), and maps
// each kept score by a weight of its own (W2: it computes nothing else); a
// second output, the scores' mean, has a fixed shape.
func selectModel(rng *rand.Rand) *graph.Model {
	m := tinyModel{[]int{4}, []*graph.Node{
		node("MatMul", []string{"x", "W"}, "scores"),
		node("Greater", []string{"scores", "zero"}, "pos"),
		node("NonZero", []string{"pos"}, "nz"),
		node("Transpose", []string{"nz"}, "idx", ints("perm", 1, 0)),
		node("GatherND", []string{"scores", "idx"}, "kept"),
		node("Unsqueeze", []string{"kept", "ax1"}, "kept2"),
		node("MatMul", []string{"kept2", "W2"}, "y"),
		node("ReduceMean", []string{"scores"}, "mean", ints("axes", 1)),
	}, map[string]*graph.Tensor{"W": randTensor(rng, 1, 4, 4), "W2": randTensor(rng, 1, 1, 3),
		"zero": graph.ScalarFloat32(0), "ax1": graph.FromInt64([]int{1}, []int64{1})}}.model()
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "mean", DType: graph.Float32})
	return m
}

// TestRaggedOutputsMatchWhatTheyAreSelectedFrom: the outputs loss of a net with
// an output of data-dependent length matches the fixed-shape output and the
// scores the selection reads (the same shape in the int8 and the float net),
// training runs with it, and the weight that computes only the ragged output is
// named as getting no gradient.
func TestRaggedOutputsMatchWhatTheyAreSelectedFrom(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	m := selectModel(rng)
	n, err := New(m, Config{Threads: 1})
	require.NoError(t, err)
	require.Contains(t, n.LossTargets(), "outputs y have a length set by the values (NonZero")
	require.Contains(t, n.LossTargets(), "matches what they are selected from: mean, scores")
	require.Len(t, n.lossOuts, 2)
	require.NotNil(t, n.NoGradient())
	require.Equal(t, []string{"W2"}, n.NoGradient().RaggedOnly)
	require.Contains(t, n.NoGradient().String(), "they compute only y, whose length is set by the values")
	require.Equal(t, []string{"W2"}, n.NoGradient().All())

	data := randomLabelled{randomBatches{"x", []int{4}, 64, 3}, 1}
	setCalibratedRanges(t, n, data)
	teacher, err := NewTeacher(m, Config{Threads: 1})
	require.NoError(t, err)
	w2 := append([]float32(nil), n.byName["W2"].W...)
	stats, err := n.Fit(data, Options{Loss: "outputs", Teacher: teacher, Optimizer: "adamw", Epochs: 2, Batch: 16, LR: 0.01, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
	require.NoError(t, err)
	require.Len(t, stats, 2)
	require.Equal(t, w2, n.byName["W2"].W, "no gradient reached W2, and AdamW's decay left it too")
	require.NotEqual(t, 0, stats[1].Loss)

	// a model without a ragged output matches its outputs, as before
	plain, err := New(tinyModel{[]int{4}, []*graph.Node{node("MatMul", []string{"x", "W"}, "y")},
		map[string]*graph.Tensor{"W": randTensor(rng, 1, 4, 3)}}.model(), Config{})
	require.NoError(t, err)
	require.Empty(t, plain.LossTargets())
	require.Equal(t, plain.outputs, plain.lossOuts)
}

// TestRaggedLoopTripCount: a Loop whose trip count is computed from an
// activation (iterate while the state is large, as a scripted refinement does)
// stacks a scan output of data-dependent length, but its carried state keeps its
// shape: only an output read from the scan is matched through its source.
func TestRaggedLoopTripCount(t *testing.T) {
	rng := rand.New(rand.NewSource(18))
	body := bodyGraph("body", []*graph.Node{
		node("MatMul", []string{"h", "W"}, "hw"), node("Tanh", []string{"hw"}, "h2"), node("Identity", []string{"h2"}, "s"),
		node("Identity", []string{"c"}, "c2"),
	}, []*graph.Value{{Name: "i", DType: graph.Int64}, {Name: "c", DType: graph.Bool}, fval("h")},
		[]*graph.Value{{Name: "c2", DType: graph.Bool}, fval("h2"), fval("s")})
	build := func(readScan bool) *graph.Model {
		loop := multiNode("Loop", []string{"M", "", "h0"}, []string{"hT", "hs"})
		loop.Attrs["body"] = body
		out := node("Identity", []string{"hT"}, "y")
		if readScan {
			out = node("Identity", []string{"hs"}, "y")
		}
		return tinyModel{[]int{4}, []*graph.Node{
			node("MatMul", []string{"x", "V"}, "h0"),
			node("Abs", []string{"h0"}, "a"), node("ReduceMax", []string{"a"}, "mx", intAttr("keepdims", 0)),
			node("Mul", []string{"mx", "three"}, "m3"), node("Clip", []string{"m3", "one", "four"}, "mc"),
			node("Cast", []string{"mc"}, "M", intAttr("to", int64(graph.Int64))),
			loop, out,
		}, map[string]*graph.Tensor{"V": randTensor(rng, 1, 4, 4), "W": randTensor(rng, 1, 4, 4),
			"three": graph.ScalarFloat32(3), "one": graph.ScalarFloat32(1), "four": graph.ScalarFloat32(4)}}.model()
	}
	n, err := New(build(false), Config{})
	require.NoError(t, err)
	require.Empty(t, n.LossTargets(), "the carried state has one shape")
	n, err = New(build(true), Config{})
	require.NoError(t, err)
	require.Contains(t, n.LossTargets(), `outputs y have a length set by the values (Loop "hT_node")`)
}
