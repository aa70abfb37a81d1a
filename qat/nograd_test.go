package qat

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// sideStepModel is y = x·W1 + f(3·(x·W2)) for a zero-gradient f: the step is on a
// side branch, W1 trains and W2 has no path to the output but through f.
func sideStepModel(op string, rng *rand.Rand) *graph.Model {
	return tinyModel{[]int{4}, []*graph.Node{
		node("MatMul", []string{"x", "W1"}, "h1"),
		node("MatMul", []string{"x", "W2"}, "h2"),
		node("Mul", []string{"h2", "three"}, "h3"),
		node(op, []string{"h3"}, "s"),
		node("Add", []string{"h1", "s"}, "y"),
	}, map[string]*graph.Tensor{
		"W1": randTensor(rng, 1, 4, 3), "W2": randTensor(rng, 1, 4, 3),
		"three": graph.FromFloat32([]int{1}, []float32{3}),
	}}.model()
}

// TestZeroGradientOpsBesideTheGradient: Round, Floor, Ceil and Sign compute what
// the runtime computes and pass no gradient back (PyTorch's autograd); the
// weight behind them is reported as getting none, the other trains with its exact
// gradient.
func TestZeroGradientOpsBesideTheGradient(t *testing.T) {
	for _, op := range []string{"Round", "Floor", "Ceil", "Sign"} {
		t.Run(op, func(t *testing.T) {
			rng := rand.New(rand.NewSource(3))
			m := sideStepModel(op, rng)
			n, err := New(m, Config{FloatOnly: true, Threads: 1})
			require.NoError(t, err)
			ng := n.NoGradient()
			require.NotNil(t, ng)
			require.Equal(t, []string{"W2"}, ng.Params)
			require.Equal(t, []string{`` + op + ` "s_node"`}, ng.Through)
			require.Contains(t, ng.String(), "W2")

			const batch = 5
			x := randomSamples(rng, batch*4)
			x[0] = 0.5 / 3 // a tie for Round's half-to-even (when W2 maps it so) aside, plain values
			_, got, err := n.Forward(x, batch)
			require.NoError(t, err)
			got = append([]float32(nil), got...)
			sess, err := runtime.NewSession(m, runtime.WithThreads(1))
			require.NoError(t, err)
			res, err := sess.RunTensors(map[string]*graph.Tensor{"x": graph.FromFloat32([]int{batch, 4}, x)})
			require.NoError(t, err)
			require.InDeltaSlice(t, res["y"].F32(), got, 1e-5)

			r := randomSamples(rng, batch*3)
			n.ZeroGrad()
			n.Backward(r)
			w1 := n.byName["W1"]
			w2 := n.byName["W2"]
			require.Equal(t, make([]float32, len(w2.G)), w2.G, "no gradient through %s", op)
			for i := 0; i < 4; i++ {
				for j := 0; j < 3; j++ {
					var want float32
					for b := 0; b < batch; b++ {
						want += x[b*4+i] * r[b*3+j]
					}
					require.InDelta(t, want, w1.G[i*3+j], 1e-5, "dW1[%d][%d]", i, j)
				}
			}
		})
	}
}

// TestZeroGradientOpsExport: a net with a Round beside its gradient trains, and the
// written model's int8 output is what training computed.
func TestZeroGradientOpsExport(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	n := trainAndCheckExport(t, sideStepModel("Round", rng), []int{4}, 3, 5, rng)
	require.Equal(t, []string{"W2"}, n.NoGradient().Params)
}

// TestNoGradientAnywhere: when every weight is behind a zero-gradient operator
// there is nothing to train; the error says so and names the node.
func TestNoGradientAnywhere(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, tc := range []struct {
		name  string
		nodes []*graph.Node
		parts []string
	}{
		{"the output rounded", []*graph.Node{node("MatMul", []string{"x", "W1"}, "h"), node("Relu", []string{"h"}, "r"), node("Round", []string{"r"}, "y")},
			[]string{`Round "y_node"`, "no parameter gets a gradient"}},
		{"two steps in a row", []*graph.Node{node("MatMul", []string{"x", "W1"}, "h"), node("Floor", []string{"h"}, "f"), node("Sign", []string{"f"}, "y")},
			[]string{`Sign "y_node"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel{[]int{4}, tc.nodes, map[string]*graph.Tensor{"W1": randTensor(rng, 1, 4, 3)}}.model()
			_, err := New(m, Config{})
			require.ErrorIs(t, err, ErrNoGradient)
			for _, p := range tc.parts {
				require.ErrorContains(t, err, p)
			}
		})
	}
	// no weight at all: nothing is cut off, nothing reported
	m := tinyModel{[]int{4}, []*graph.Node{node("Round", []string{"x"}, "y")}, nil}.model()
	n, err := New(m, Config{})
	require.NoError(t, err)
	require.Nil(t, n.NoGradient())
}

// TestModGradients: fmod's slope is 1 in the dividend and -trunc(x/y) in the
// divisor (an activation here), at points away from its jumps; integer-style Mod
// (fmod=0) of floats is refused as the runtime refuses it.
func TestModGradients(t *testing.T) {
	m := tinyModel{[]int{2, 2}, []*graph.Node{
		multiNode("Split", []string{"x"}, []string{"a", "d"}, intAttr("axis", 1)),
		node("Mod", []string{"a", "d"}, "y", intAttr("fmod", 1)),
	}, nil}.model()
	n, err := New(m, Config{FloatOnly: true, Threads: 1})
	require.NoError(t, err)
	n.inputGrad = true
	x := []float32{2.5, -2.5, 1.0, 0.7} // a = [2.5, -2.5], d = [1, 0.7]
	_, y, err := n.Forward(x, 1)
	require.NoError(t, err)
	require.InDeltaSlice(t, []float32{0.5, -0.4}, y, 1e-6)
	n.ZeroGrad()
	n.Backward([]float32{1, 1})
	require.Equal(t, []float32{1, 1, -2, 3}, n.vals[n.input].grad)

	m.Graph.Nodes[1].Attrs["fmod"] = intAttr("fmod", 0)
	_, err = New(m, Config{FloatOnly: true})
	require.ErrorContains(t, err, "y_node")
	require.ErrorContains(t, err, "fmod=1")
}

// TestDetGradientSingular: the gradient of a singular matrix's determinant is its
// cofactor matrix (not det·A^-T, which is 0·∞ there), and the large-matrix path
// (det·A^-T) agrees with cofactors on a regular one.
func TestDetGradientSingular(t *testing.T) {
	m := tinyModel{[]int{2, 2}, []*graph.Node{node("Det", []string{"x"}, "y")}, nil}.model()
	n, err := New(m, Config{FloatOnly: true, Threads: 1})
	require.NoError(t, err)
	n.inputGrad = true
	_, y, err := n.Forward([]float32{1, 2, 2, 4}, 1)
	require.NoError(t, err)
	require.Equal(t, []float32{0}, y)
	n.ZeroGrad()
	n.Backward([]float32{1})
	require.Equal(t, []float32{4, -2, -2, 1}, n.vals[n.input].grad)

	rng := rand.New(rand.NewSource(7))
	const k = 5
	src := randomSamples(rng, k*k)
	o := &detOp{m: k}
	viaInverse := make([]float32, k*k)
	o.backwardInverse(src, viaInverse, 1)
	m5 := tinyModel{[]int{k, k}, []*graph.Node{node("Det", []string{"x"}, "y")}, nil}.model()
	n5, err := New(m5, Config{FloatOnly: true, Threads: 1})
	require.NoError(t, err)
	n5.inputGrad = true
	_, _, err = n5.Forward(src, 1)
	require.NoError(t, err)
	n5.ZeroGrad()
	n5.Backward([]float32{1})
	require.InDeltaSlice(t, n5.vals[n5.input].grad, viaInverse, 1e-4)
}

// TestSqrtAtZero: a square root of exactly 0 (a variance the int8 grid rounds to
// 0) passes no gradient back, as ReduceL2 at a zero norm, instead of infinity.
func TestSqrtAtZero(t *testing.T) {
	m := tinyModel{[]int{3}, []*graph.Node{
		node("Sub", []string{"x", "x"}, "d"), node("Sqrt", []string{"d"}, "s"), node("Add", []string{"s", "x"}, "y"),
	}, nil}.model()
	n, err := New(m, Config{FloatOnly: true, Threads: 1})
	require.NoError(t, err)
	n.inputGrad = true
	_, y, err := n.Forward([]float32{1, -2, 0.5}, 1)
	require.NoError(t, err)
	require.Equal(t, []float32{1, -2, 0.5}, y)
	n.ZeroGrad()
	n.Backward([]float32{1, 1, 1})
	require.Equal(t, []float32{1, 1, 1}, n.vals[n.input].grad)
}

// weightFirst puts a trainable MatMul by the identity (last dimension k) in front
// of every use of the input x: the net computes the same, and a gradient must
// now pass back through what follows (an operator without one is refused, not
// taken for data).
func weightFirst(m *graph.Model, k int) *graph.Model {
	g := m.Graph
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == "x" {
				n.Inputs[i] = "x_w"
			}
		}
	}
	eye := make([]float32, k*k)
	for i := 0; i < k; i++ {
		eye[i*k+i] = 1
	}
	g.Initializers["w_first"] = graph.FromFloat32([]int{k, k}, eye)
	g.Nodes = append([]*graph.Node{node("MatMul", []string{"x", "w_first"}, "x_w")}, g.Nodes...)
	return m
}

// TestDataNodes: an operator without a gradient that no trainable weight feeds
// (a front end on the input) runs as data on the runtime's kernel and the rest
// trains; fed by a weight it is refused naming the node.
func TestDataNodes(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	front := func() tinyModel {
		return tinyModel{[]int{4}, []*graph.Node{
			node("Hardmax", []string{"x"}, "hm"), node("Add", []string{"hm", "x"}, "a"),
			node("MatMul", []string{"a", "W"}, "y")}, map[string]*graph.Tensor{"W": randTensor(rng, 1, 4, 3)}}
	}
	m := front().model()
	n, err := New(m, Config{FloatOnly: true, Threads: 1})
	require.NoError(t, err)
	require.Len(t, n.Params(), 1)
	checkForwardMatchesRuntime(t, m, n, 3)
	n.ZeroGrad()
	_, _, err = n.Forward(randomSamples(rng, 12), 3)
	require.NoError(t, err)
	n.Backward(randomSamples(rng, 9))
	require.NotEqual(t, make([]float32, 12), n.Params()[0].G)

	_, err = New(weightFirst(front().model(), 4), Config{FloatOnly: true})
	require.ErrorIs(t, err, ErrNoGradient)
	require.ErrorContains(t, err, `Hardmax "hm_node"`)

	// an operator reading a weight of its own (an RNN's matrices with an
	// attribute qat refuses) is not data either: TestRNNRefusals
}

// TestNoGradientThroughIndices: a weight whose only path to the outputs is an
// index (ArgMax, cast back to float) is reported like one behind a Round.
func TestNoGradientThroughIndices(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	m := tinyModel{[]int{4}, []*graph.Node{
		node("MatMul", []string{"x", "W1"}, "h1"),
		node("MatMul", []string{"x", "W2"}, "h2"),
		node("ArgMax", []string{"h2"}, "am", intAttr("axis", 1), intAttr("keepdims", 1)),
		node("Cast", []string{"am"}, "amf", intAttr("to", int64(graph.Float32))),
		node("Add", []string{"h1", "amf"}, "y"),
	}, map[string]*graph.Tensor{"W1": randTensor(rng, 1, 4, 3), "W2": randTensor(rng, 1, 4, 3)}}.model()
	n, err := New(m, Config{FloatOnly: true, Threads: 1})
	require.NoError(t, err)
	require.NotNil(t, n.NoGradient())
	require.Equal(t, []string{"W2"}, n.NoGradient().Params)
	require.Equal(t, []string{`ArgMax "am_node"`}, n.NoGradient().Through)
}

// TestRoiBoxesPassNoGradient: a box head whose boxes only feed RoiAlign (a
// two-stage detector's proposals) gets no gradient, as in torchvision, whose
// roi_align returns none for the boxes: its weights are named, RoiAlign is
// where the gradient stops, and the features under the boxes train.
func TestRoiBoxesPassNoGradient(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	m := tinyModel{[]int{2, 6, 6}, []*graph.Node{
		node("Conv", []string{"x", "w1", "b1"}, "f", ints("pads", 1, 1, 1, 1)),
		node("GlobalAveragePool", []string{"x"}, "p"),
		node("Flatten", []string{"p"}, "fp"),
		node("Gemm", []string{"fp", "wb", "bb"}, "box", intAttr("transB", 1)),
		node("Abs", []string{"box"}, "ab"),
		node("Add", []string{"ab", "base"}, "rois"),
		node("Shape", []string{"x"}, "sh"),
		node("Gather", []string{"sh", "i0"}, "nb"),
		node("Range", []string{"z", "nb", "one"}, "bi"),
		node("RoiAlign", []string{"f", "rois", "bi"}, "r", intAttr("output_height", 2), intAttr("output_width", 2)),
		node("Flatten", []string{"r"}, "y"),
	}, map[string]*graph.Tensor{"w1": randTensor(rng, 0.5, 3, 2, 3, 3), "b1": randTensor(rng, 0.5, 3),
		"wb": randTensor(rng, 0.5, 4, 2), "bb": randTensor(rng, 0.5, 4), "base": graph.FromFloat32([]int{4}, []float32{0, 0, 3, 3}),
		"i0": graph.FromInt64(nil, []int64{0}), "z": graph.FromInt64(nil, []int64{0}), "one": graph.FromInt64(nil, []int64{1})}}.model()
	n, err := New(m, Config{FloatOnly: true, Threads: 1})
	require.NoError(t, err)
	require.NotNil(t, n.NoGradient())
	require.Equal(t, []string{"bb", "wb"}, n.NoGradient().Params)
	require.Equal(t, []string{`RoiAlign "r_node"`}, n.NoGradient().Through)
	before := map[string][]float32{}
	for _, p := range n.Params() {
		before[p.Name] = append([]float32(nil), p.W...)
	}
	_, err = n.Fit(constData{8, 1}, Options{Batch: 4, LR: 0.1, Seed: 1})
	require.NoError(t, err)
	for _, p := range n.Params() {
		if p.Name == "wb" || p.Name == "bb" {
			require.Equal(t, before[p.Name], p.W, p.Name)
		} else {
			require.NotEqual(t, before[p.Name], p.W, p.Name)
		}
	}
}
