package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// switchDispatchModel is a Switch Transformer's token dispatch as torch.onnx
// writes it: h = Relu(x·W1), a router MatMul and ArgMax, the one-hot route
// (Equal with the expert indices, Cast to float), each token's position in its
// expert (CumSum · route - 1) and the dispatch tensor (Equal of the positions with
// the capacity slots, Cast to float) [S, E, C]; "feat" = h·W2 is a plain head.
func switchDispatchModel(rng *rand.Rand, experts, capacity int) *graph.Model {
	slots := make([]float32, capacity)
	for i := range slots {
		slots[i] = float32(i)
	}
	eidx := make([]int64, experts)
	for i := range eidx {
		eidx[i] = int64(i)
	}
	m := newModel("x", []int{16, 8}, []string{"feat", "disp"}, []*graph.Node{
		node("MatMul", []string{"x", "w1"}, []string{"mm1"}),
		node("Relu", []string{"mm1"}, []string{"h"}),
		node("MatMul", []string{"h", "w2"}, []string{"feat"}),
		node("MatMul", []string{"h", "wr"}, []string{"router"}),
		node("ArgMax", []string{"router"}, []string{"idx"}, intAttr("axis", 1), intAttr("keepdims", 1)),
		node("Equal", []string{"idx", "eidx"}, []string{"onehot"}),
		node("Cast", []string{"onehot"}, []string{"route"}, intAttr("to", int64(graph.Float32))),
		node("CumSum", []string{"route", "axis0"}, []string{"csum"}),
		node("Mul", []string{"csum", "route"}, []string{"masked"}),
		node("Sub", []string{"masked", "one"}, []string{"pos"}),
		node("Unsqueeze", []string{"pos", "ax2"}, []string{"pos3"}),
		node("Equal", []string{"pos3", "slots"}, []string{"hit"}),
		node("Cast", []string{"hit"}, []string{"disp"}, intAttr("to", int64(graph.Float32))),
	}, map[string]*graph.Tensor{
		"w1": randTensor(rng, []int{8, 16}, 0.5), "w2": randTensor(rng, []int{16, 8}, 0.5),
		"wr": randTensor(rng, []int{16, experts}, 1), "eidx": graph.FromInt64([]int{1, experts}, eidx),
		"axis0": graph.FromInt64([]int{}, []int64{0}), "one": graph.ScalarFloat32(1), "ax2": graph.FromInt64([]int{1}, []int64{2}),
		"slots": graph.FromFloat32([]int{1, 1, capacity}, slots),
	})
	m.Opsets[""] = 13
	return m
}

// The positions compared with the slots (Equal) stay float32 back to the CumSum
// and the route, so every token routed as in float32 lands in its slot; the
// encoder layer and the feature head stay int8. Measured: with the rule 16 of
// the 16 tokens dispatched, without it (the positions requantized after the
// Sub) 3.
func TestQuantizeKeepsEqualInputsFloat(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	m := switchDispatchModel(rng, 4, 16)
	q, err := Quantize(m, rangesFromData(t, m, map[string]*graph.Tensor{"x": randTensor(rng, []int{64, 8}, 1)}),
		QuantOptions{})
	require.NoError(t, err)
	dq := dequantizedNames(q)
	for _, v := range []string{"csum", "masked", "pos", "pos3"} {
		assert.False(t, dq[v], "%s stays float32", v)
	}
	for _, v := range []string{"h", "feat"} {
		assert.True(t, dq[v], "%s is quantized", v)
	}
	rules, err := FloatRules(q)
	require.NoError(t, err)
	var ruled []string
	for _, r := range rules {
		if r.Rule == integerRule {
			ruled = r.Nodes
		}
	}
	assert.Contains(t, ruled, "Equal_hit", "the rule is stated for inspect")
	assert.Contains(t, ruled, "Sub_pos")

	feed := map[string]*graph.Tensor{"x": randTensor(rng, []int{16, 8}, 1)}
	want := runFloat(t, m, feed)
	s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	got, err := s.RunTensors(feed)
	require.NoError(t, err)
	// Every token is dispatched once (capacity 16 >= tokens); a token the int8
	// router sends elsewhere still lands in a slot of its expert.
	sum := func(d []float32) (n float32) {
		for _, v := range d {
			n += v
		}
		return n
	}
	require.Equal(t, float32(16), sum(want["disp"].F32()))
	assert.Equal(t, float32(16), sum(got["disp"].F32()), "every token dispatched")
	assert.Greater(t, int8AgainstFloatDB(t, m, q, feed, "feat"), 30.0)
}
