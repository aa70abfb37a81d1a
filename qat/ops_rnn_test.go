package qat

import (
	"errors"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// rnnWeights returns random W, R and B of an LSTM or GRU (gates 4 or 3).
func rnnWeights(rng *rand.Rand, prefix string, dirs, gates, hidden, inputs int) map[string]*graph.Tensor {
	return map[string]*graph.Tensor{
		prefix + "W": randTensor(rng, 0.6, dirs, gates*hidden, inputs),
		prefix + "R": randTensor(rng, 0.6, dirs, gates*hidden, hidden),
		prefix + "B": randTensor(rng, 0.3, dirs, 2*gates*hidden),
	}
}

func withInits(m map[string]*graph.Tensor, more map[string]*graph.Tensor) map[string]*graph.Tensor {
	for k, v := range more {
		m[k] = v
	}
	return m
}

// rnnCases are recurrent operators as exporters write them: torch.onnx's
// sequence-first operators behind a Transpose (LSTM; GRU with
// linear_before_reset = 1; RNN), Keras's GRU (linear_before_reset = 0), batch-first
// layouts, both directions, initial states computed from the data, and every
// output read.
func rnnCases() []struct {
	name string
	m    tinyModel
} {
	rng := rand.New(rand.NewSource(31))
	perm := ints("perm", 1, 0, 2)
	hs := func(h int64) *graph.Attr { return intAttr("hidden_size", h) }
	slices := map[string]*graph.Tensor{"a0": i64(0), "a1": i64(1), "s0": i64(0), "s2": i64(2), "s4": i64(4)}
	return []struct {
		name string
		m    tinyModel
	}{
		{"LSTM forward: Y, Y_h and Y_c", tinyModel{[]int{4, 3}, []*graph.Node{
			node("Transpose", []string{"x"}, "xt", perm),
			multiNode("LSTM", []string{"xt", "W", "R", "B"}, []string{"Y", "Yh", "Yc"}, hs(5)),
			node("Unsqueeze", []string{"Yh", "a0"}, "Yh1"), node("Unsqueeze", []string{"Yc", "a0"}, "Yc1"),
			node("Concat", []string{"Y", "Yh1", "Yc1"}, "y", intAttr("axis", 0))},
			withInits(rnnWeights(rng, "", 1, 4, 5, 3), slices)}},
		{"LSTM bidirectional with initial states from the data", tinyModel{[]int{4, 5}, []*graph.Node{
			node("Transpose", []string{"x"}, "xt", perm),
			node("Slice", []string{"xt", "s0", "s2", "a0"}, "h0"), node("Tanh", []string{"h0"}, "h0t"),
			node("Slice", []string{"xt", "s2", "s4", "a0"}, "c0"),
			multiNode("LSTM", []string{"xt", "W", "R", "B", "", "h0t", "c0"}, []string{"Y", "Yh", "Yc"}, hs(5), strAttr("direction", "bidirectional")),
			node("Unsqueeze", []string{"Yh", "a0"}, "Yh1"), node("Unsqueeze", []string{"Yc", "a0"}, "Yc1"),
			node("Concat", []string{"Y", "Yh1", "Yc1"}, "y", intAttr("axis", 0))},
			withInits(rnnWeights(rng, "", 2, 4, 5, 5), slices)}},
		{"LSTM reverse, batch-first, no bias", tinyModel{[]int{4, 3}, []*graph.Node{
			multiNode("LSTM", []string{"x", "W", "R"}, []string{"Y", "Yh"}, hs(4), strAttr("direction", "reverse"), intAttr("layout", 1)),
			node("Unsqueeze", []string{"Yh", "a1"}, "Yh1"),
			node("Concat", []string{"Y", "Yh1"}, "y", intAttr("axis", 1))},
			withInits(map[string]*graph.Tensor{"W": randTensor(rng, 0.6, 1, 16, 3), "R": randTensor(rng, 0.6, 1, 16, 4)}, slices)}},
		{"GRU linear_before_reset=1 bidirectional (torch.onnx)", tinyModel{[]int{4, 3}, []*graph.Node{
			node("Transpose", []string{"x"}, "xt", perm),
			multiNode("GRU", []string{"xt", "W", "R", "B"}, []string{"Y", "Yh"}, hs(5), strAttr("direction", "bidirectional"), intAttr("linear_before_reset", 1)),
			node("Unsqueeze", []string{"Yh", "a0"}, "Yh1"),
			node("Concat", []string{"Y", "Yh1"}, "y", intAttr("axis", 0))},
			withInits(rnnWeights(rng, "", 2, 3, 5, 3), slices)}},
		{"GRU linear_before_reset=0 with an initial state from the data (Keras)", tinyModel{[]int{4, 5}, []*graph.Node{
			node("Transpose", []string{"x"}, "xt", perm),
			node("Slice", []string{"xt", "s0", "a1", "a0"}, "h0"),
			multiNode("GRU", []string{"xt", "W", "R", "B", "", "h0"}, []string{"Y", "Yh"}, hs(5),
				&graph.Attr{Name: "activations", Type: graph.AttrStrings, Strings: []string{"Sigmoid", "Tanh"}}),
			node("Unsqueeze", []string{"Yh", "a0"}, "Yh1"),
			node("Concat", []string{"Y", "Yh1"}, "y", intAttr("axis", 0))},
			withInits(rnnWeights(rng, "", 1, 3, 5, 5), slices)}},
		{"GRU reverse, batch-first, linear_before_reset=1", tinyModel{[]int{4, 3}, []*graph.Node{
			multiNode("GRU", []string{"x", "W", "R", "B"}, []string{"y"}, hs(4), strAttr("direction", "reverse"), intAttr("layout", 1), intAttr("linear_before_reset", 1))},
			rnnWeights(rng, "", 1, 3, 4, 3)}},
		{"RNN bidirectional with an initial state from the data (nn.RNN)", tinyModel{[]int{4, 5}, []*graph.Node{
			node("Transpose", []string{"x"}, "xt", perm),
			node("Slice", []string{"xt", "s0", "s2", "a0"}, "h0"),
			multiNode("RNN", []string{"xt", "W", "R", "B", "", "h0"}, []string{"Y", "Yh"}, hs(5), strAttr("direction", "bidirectional")),
			node("Unsqueeze", []string{"Yh", "a0"}, "Yh1"),
			node("Concat", []string{"Y", "Yh1"}, "y", intAttr("axis", 0))},
			withInits(rnnWeights(rng, "", 2, 1, 5, 5), slices)}},
		{"RNN with Relu, reverse, batch-first", tinyModel{[]int{4, 3}, []*graph.Node{
			multiNode("RNN", []string{"x", "W", "R", "B"}, []string{"y"}, hs(4), strAttr("direction", "reverse"), intAttr("layout", 1),
				&graph.Attr{Name: "activations", Type: graph.AttrStrings, Strings: []string{"Relu"}})},
			rnnWeights(rng, "", 1, 1, 4, 3)}},
	}
}

// TestRNNGradients checks each recurrent operator's forward pass against the
// float runtime and its gradients (input, W, R, B, initial states) against
// finite differences.
func TestRNNGradients(t *testing.T) {
	for _, tc := range rnnCases() {
		t.Run(tc.name, func(t *testing.T) { checkOpCase(t, tc.m) })
	}
}

// TestRNNSequenceLengths: samples shorter than the sequence keep their state past
// their length (Y zero there, Y_h their last step's), in both directions, and the
// gradient follows.
func TestRNNSequenceLengths(t *testing.T) {
	rng := rand.New(rand.NewSource(32))
	lens := graph.FromInt32([]int{3}, []int32{4, 2, 1})
	for _, op := range []string{"LSTM", "GRU", "RNN"} {
		gates := graph.RNNGates(op)
		rnn := multiNode(op, []string{"xt", "W", "R", "B", "lens"}, []string{"Y", "Yh"}, intAttr("hidden_size", 4),
			strAttr("direction", "bidirectional"))
		if op == "GRU" {
			rnn.Attrs["linear_before_reset"] = intAttr("linear_before_reset", 1)
		}
		m := tinyModel{[]int{4, 3}, []*graph.Node{
			node("Transpose", []string{"x"}, "xt", ints("perm", 1, 0, 2)), rnn,
			node("Unsqueeze", []string{"Yh", "a0"}, "Yh1"),
			node("Concat", []string{"Y", "Yh1"}, "y", intAttr("axis", 0))},
			withInits(rnnWeights(rng, "", 2, gates, 4, 3), map[string]*graph.Tensor{"lens": lens, "a0": i64(0)})}.model()
		t.Run(op, func(t *testing.T) {
			n, err := New(m, Config{FloatOnly: true, Threads: 2})
			require.NoError(t, err)
			checkForwardMatchesRuntime(t, m, n, 3)
			checkGrads(t, n, 3, false)
			_, _, err = n.Forward(make([]float32, 2*12), 2)
			require.ErrorContains(t, err, "sequence_lens has shape [3], want [2]")
		})
	}
}

// TestRNNRefusals: what the gradient does not cover is refused naming the node.
func TestRNNRefusals(t *testing.T) {
	rng := rand.New(rand.NewSource(33))
	perm := ints("perm", 1, 0, 2)
	for _, tc := range []struct {
		name, want string
		n          *graph.Node
		inits      map[string]*graph.Tensor
	}{
		{"clip", "LSTM with a cell clip", multiNode("LSTM", []string{"xt", "W", "R"}, []string{"y"}, intAttr("hidden_size", 2), floatAttr("clip", 3)),
			rnnWeights(rng, "", 1, 4, 2, 3)},
		{"peepholes", "LSTM with peepholes", multiNode("LSTM", []string{"xt", "W", "R", "B", "", "", "", "P"}, []string{"y"}, intAttr("hidden_size", 2)),
			withInits(rnnWeights(rng, "", 1, 4, 2, 3), map[string]*graph.Tensor{"P": randTensor(rng, 1, 1, 6)})},
		{"activations", "GRU with activations [Relu Tanh]", multiNode("GRU", []string{"xt", "W", "R"}, []string{"y"}, intAttr("hidden_size", 2),
			&graph.Attr{Name: "activations", Type: graph.AttrStrings, Strings: []string{"Relu", "Tanh"}}), rnnWeights(rng, "", 1, 3, 2, 3)},
		{"RNN activations", "RNN with activations [Sigmoid]", multiNode("RNN", []string{"xt", "W", "R"}, []string{"y"}, intAttr("hidden_size", 2),
			&graph.Attr{Name: "activations", Type: graph.AttrStrings, Strings: []string{"Sigmoid"}}), rnnWeights(rng, "", 1, 1, 2, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.n.Name = "rnn"
			m := tinyModel{[]int{4, 3}, []*graph.Node{node("Transpose", []string{"x"}, "xt", perm), tc.n}, tc.inits}.model()
			_, err := New(m, Config{FloatOnly: true})
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrNoGradient), "%v", err)
			require.ErrorContains(t, err, `"rnn"`)
			require.ErrorContains(t, err, tc.want)
		})
	}
	// a malformed operator (hidden size 0) is an error, not a panic or a loop
	m := tinyModel{[]int{4, 3}, []*graph.Node{node("Transpose", []string{"x"}, "xt", perm),
		multiNode("LSTM", []string{"xt", "W", "R"}, []string{"y"}, intAttr("hidden_size", 0))},
		map[string]*graph.Tensor{"W": graph.FromFloat32([]int{1, 0, 3}, nil), "R": graph.FromFloat32([]int{1, 0, 0}, nil)}}.model()
	_, err := New(m, Config{FloatOnly: true})
	require.Error(t, err)
}

// TestRNNTrainsAndExports: classifiers on a recurrent operator (an LSTM, a
// bidirectional GRU of each reset form) train with fake quantization, and the QDQ
// model each writes computes on the int8 runtime (QRNN: int8 products, the state
// quantized every step) what the fake-quantized net computed, one sample at a
// time (the executor quantizes the state over the batch it runs).
func TestRNNTrainsAndExports(t *testing.T) {
	for _, tc := range []struct {
		op  string
		dir string
		lbr int64
	}{{"LSTM", "forward", 0}, {"GRU", "bidirectional", 1}, {"GRU", "bidirectional", 0}} {
		t.Run(tc.op+" "+tc.dir+" lbr "+string(rune('0'+tc.lbr)), func(t *testing.T) {
			rng := rand.New(rand.NewSource(34))
			dirs := 1
			if tc.dir == "bidirectional" {
				dirs = 2
			}
			gates, hidden := graph.RNNGates(tc.op), 8
			inits := withInits(rnnWeights(rng, "", dirs, gates, hidden, 6), map[string]*graph.Tensor{
				"sh": i64(0, -1), "wf": randTensor(rng, 0.4, 4, dirs*hidden), "bf": randTensor(rng, 0.1, 4)})
			rnn := multiNode(tc.op, []string{"xt", "W", "R", "B"}, []string{"Y", "Yh"}, intAttr("hidden_size", int64(hidden)),
				strAttr("direction", tc.dir))
			if tc.op == "GRU" {
				rnn.Attrs["linear_before_reset"] = intAttr("linear_before_reset", tc.lbr)
			}
			m := tinyModel{[]int{5, 6}, []*graph.Node{
				node("Transpose", []string{"x"}, "xt", ints("perm", 1, 0, 2)), rnn,
				node("Transpose", []string{"Yh"}, "Yt", ints("perm", 1, 0, 2)),
				node("Reshape", []string{"Yt", "sh"}, "f"),
				node("Gemm", []string{"f", "wf", "bf"}, "y", intAttr("transB", 1)),
			}, inits}.model()
			m.Graph.Outputs[0].Shape, m.Graph.Outputs[0].HasShape = graph.Shape{{Size: -1, Param: "N"}, {Size: 4}}, true
			shape := []int{5, 6}
			n, err := New(m, Config{Threads: 2})
			require.NoError(t, err)
			var op *rnnOp
			for _, o := range n.ops {
				if r, ok := o.(*rnnOp); ok {
					op = r
				}
			}
			require.NotNil(t, op)
			require.True(t, op.quantState, "W and R are quantized, so is the state")
			data := randomLabelled{randomBatches{"x", shape, 64, 9}, 4}
			setCalibratedRanges(t, n, data)
			before := append([]float32(nil), op.r.p.W...)
			stats, err := n.Fit(data, Options{LR: 0.01, Batch: 16, Epochs: 2, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
			require.NoError(t, err)
			require.False(t, math.IsNaN(stats[1].Loss))
			require.NotEqual(t, before, op.r.p.W, "R trains")

			q, err := n.Export(quantizer.QuantOptions{})
			require.NoError(t, err)
			s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
			require.NoError(t, err)
			var qrnn bool
			for _, p := range s.Placement {
				if p.OpType == "QRNN" {
					qrnn = p.Int8
				}
			}
			require.True(t, qrnn, "the written %s runs int8", tc.op)
			// The operator's float output before its quantization, as QRNN
			// computes it: the state's per-step quantization is a tenth of a
			// code of Y_h; leaving it out of training would miss by more than
			// the float32 arithmetic does.
			qf, yh := withoutQDQ(t, q, "Yh")
			tapped, err := runtime.NewSession(qf, runtime.WithMode(runtime.ModeInt8), runtime.WithTaps(yh))
			require.NoError(t, err)
			for i := range 3 {
				x := randomSamples(rng, numel(shape))
				feed := map[string]*graph.Tensor{"x": graph.FromFloat32(append([]int{1}, shape...), x)}
				sqnr := exportSQNR(t, n, x, 1, feed, "y")
				t.Logf("sample %d: fake-quantized training forward against the int8 runtime: %.1f dB", i, sqnr)
				require.Greater(t, sqnr, 40.0)
				res, err := tapped.RunTensors(feed)
				require.NoError(t, err)
				want := res[yh].F32()
				maxDiff := func() (d float64) {
					_, _, err := n.Forward(x, 1)
					require.NoError(t, err)
					for j, v := range n.vals[op.outs[1]].data {
						d = max(d, math.Abs(float64(v-want[j])))
					}
					return d
				}
				with := maxDiff()
				op.quantState = false
				without := maxDiff()
				op.quantState = true
				t.Logf("Y_h against QRNN's: %.2g (without the state's quantization %.2g)", with, without)
				require.Less(t, with, 1e-5)
				require.Greater(t, without, 10*with)
			}
		})
	}
}

// withoutQDQ returns a copy of m with the QuantizeLinear → DequantizeLinear
// pair that gives name removed (its readers read the pair's input), and the
// name of that input: the int8 executor then hands out the float value the
// operator computed.
func withoutQDQ(t *testing.T, m *graph.Model, name string) (*graph.Model, string) {
	t.Helper()
	c := m.Clone()
	g := c.Graph
	quantOf := map[string]string{} // QuantizeLinear output → its input
	var in string
	var keep []*graph.Node
	for _, nd := range g.Nodes {
		switch {
		case nd.OpType == "QuantizeLinear":
			quantOf[nd.Outputs[0]] = nd.Input(0)
		case nd.OpType == "DequantizeLinear" && nd.Outputs[0] == name && quantOf[nd.Input(0)] != "":
			in = quantOf[nd.Input(0)]
			continue
		}
		keep = append(keep, nd)
	}
	require.NotEmpty(t, in, "no QuantizeLinear/DequantizeLinear gives %q", name)
	for _, nd := range keep {
		for i, x := range nd.Inputs {
			if x == name {
				nd.Inputs[i] = in
			}
		}
	}
	g.Nodes = keep
	return c, in
}
