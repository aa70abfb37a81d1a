package quantizer

import (
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

// gruModel builds X [seq, batch, in] -> GRU(hidden) with random weights, like
// lstmModel.
func gruModel(rng *rand.Rand, seq, batch, in, hidden int, direction string, lbr int64, extras map[int]*graph.Tensor) *graph.Model {
	dirs := 1
	if direction == "bidirectional" {
		dirs = 2
	}
	inits := map[string]*graph.Tensor{
		"W": randTensor(rng, []int{dirs, 3 * hidden, in}, 0.4),
		"R": randTensor(rng, []int{dirs, 3 * hidden, hidden}, 0.3),
	}
	inputs := []string{"x", "W", "R"}
	names := []string{3: "B", 4: "seq_lens", 5: "h0"}
	for i := 3; i < 6; i++ {
		if t := extras[i]; t != nil {
			inputs = append(inputs, names[i])
			inits[names[i]] = t
		} else {
			inputs = append(inputs, "")
		}
	}
	n := node("GRU", inputs, []string{"y", "y_h"}, intAttr("hidden_size", int64(hidden)), intAttr("linear_before_reset", lbr))
	n.SetAttrString("direction", direction)
	m := newModel("x", []int{seq, batch, in}, []string{"y", "y_h"}, []*graph.Node{n}, inits)
	m.Graph.Inputs[0].Shape = graph.ShapeOf(seq, batch, in)
	return m
}

// snrDB is 10·log10(Σ want² / Σ (want - got)²).
func snrDB(want, got []float32) float64 {
	var sig, noise float64
	for i, w := range want {
		d := float64(w) - float64(got[i])
		sig, noise = sig+float64(w)*float64(w), noise+d*d
	}
	return 10 * math.Log10(sig/noise)
}

// TestQuantizeStaticRecurrent: in static (QDQ) mode an LSTM or a GRU with
// linear_before_reset = 1 gets W and R as DequantizeLinear of int8 constants
// (symmetric, one scale per gate row along axis 1) and a quantized X; the int8
// executor runs it as QRNN (int8 products), within quantization tolerance of
// the float model, and ONNX Runtime runs the same standard-ONNX file (in
// float32 on the dequantized weights) close to ours. Every form: reverse,
// bidirectional, biases, initial states, sequence lengths, peepholes.
func TestQuantizeStaticRecurrent(t *testing.T) {
	const seq, batch, in, hidden = 7, 3, 12, 16
	rng := rand.New(rand.NewSource(15))
	tests := []struct {
		name string
		m    *graph.Model
	}{
		{"LSTM forward", lstmModel(rng, seq, batch, in, hidden, "forward", nil)},
		{"LSTM reverse with bias", lstmModel(rng, seq, batch, in, hidden, "reverse", map[int]*graph.Tensor{3: randTensor(rng, []int{1, 8 * hidden}, 0.2)})},
		{"LSTM bidirectional with initial states", lstmModel(rng, seq, batch, in, hidden, "bidirectional", map[int]*graph.Tensor{
			3: randTensor(rng, []int{2, 8 * hidden}, 0.2),
			5: randTensor(rng, []int{2, batch, hidden}, 0.5), 6: randTensor(rng, []int{2, batch, hidden}, 0.5)})},
		{"LSTM sequence lengths and peepholes", lstmModel(rng, seq, batch, in, hidden, "forward", map[int]*graph.Tensor{
			4: graph.FromInt32([]int{batch}, []int32{7, 2, 4}), 7: randTensor(rng, []int{1, 3 * hidden}, 0.3)})},
		{"GRU forward", gruModel(rng, seq, batch, in, hidden, "forward", 1, nil)},
		{"GRU bidirectional with bias and initial state", gruModel(rng, seq, batch, in, hidden, "bidirectional", 1, map[int]*graph.Tensor{
			3: randTensor(rng, []int{2, 6 * hidden}, 0.2), 5: randTensor(rng, []int{2, batch, hidden}, 0.5)})},
		{"GRU reverse with sequence lengths", gruModel(rng, seq, batch, in, hidden, "reverse", 1, map[int]*graph.Tensor{
			3: randTensor(rng, []int{1, 6 * hidden}, 0.2), 4: graph.FromInt32([]int{batch}, []int32{3, 7, 5})})},
		// linear_before_reset = 0 (Keras's GRU): the candidate's product
		// after the reset gate (eighteenth session).
		{"GRU reset first forward", gruModel(rng, seq, batch, in, hidden, "forward", 0, nil)},
		{"GRU reset first bidirectional, hidden 10, bias and initial state", gruModel(rng, seq, batch, in, 10, "bidirectional", 0, map[int]*graph.Tensor{
			3: randTensor(rng, []int{2, 6 * 10}, 0.2), 5: randTensor(rng, []int{2, batch, 10}, 0.5)})},
		{"GRU reset first reverse with sequence lengths and default activations written out", withActs(gruModel(rng, seq, batch, in, hidden, "reverse", 0, map[int]*graph.Tensor{
			3: randTensor(rng, []int{1, 6 * hidden}, 0.2), 4: graph.FromInt32([]int{batch}, []int32{3, 7, 5})}), "Sigmoid", "Tanh")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			x := map[string]*graph.Tensor{"x": randTensor(rng, []int{seq, batch, in}, 1)}
			q, err := Quantize(m, rangesFromData(t, m, x), QuantOptions{})
			require.NoError(t, err)
			var rnn *graph.Node
			prod := q.Graph.Producers()
			for _, n := range q.Graph.Nodes {
				if n.OpType == "LSTM" || n.OpType == "GRU" {
					rnn = n
				}
			}
			require.NotNil(t, rnn)
			for i, what := range []string{"X", "W", "R"} {
				dq := prod[rnn.Input(i)]
				require.NotNil(t, dq, "%s has a producer", what)
				require.Equal(t, "DequantizeLinear", dq.OpType, "%s is dequantized", what)
				if i > 0 {
					w := q.Graph.Initializers[dq.Input(0)]
					require.NotNil(t, w)
					assert.Equal(t, graph.Int8, w.DType)
					assert.Equal(t, int64(1), dq.AttrInt("axis", 1))
					assert.Equal(t, []int{w.Shape[1]}, q.Graph.Initializers[dq.Input(1)].Shape, "one scale per gate row")
				}
			}
			want := runFloat(t, m, x)
			for _, threads := range []int{1, 2} {
				sess, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8), runtime.WithThreads(threads))
				require.NoError(t, err)
				found := false
				for _, p := range sess.Placement {
					if p.OpType == "QRNN" {
						found = true
						assert.True(t, p.Int8)
					}
				}
				require.True(t, found, "the recurrent operator runs as QRNN")
				got, err := sess.RunTensors(x)
				require.NoError(t, err)
				for _, o := range m.Graph.Outputs {
					db := snrDB(want[o.Name].F32(), got[o.Name].F32())
					t.Logf("threads %d %s: int8 vs float32 %.1f dB", threads, o.Name, db)
					assert.Greater(t, db, 28.0, "%s within quantization tolerance of float32", o.Name)
				}
			}
			if err := ortoracle.Available(); err != nil {
				t.Logf("ONNX Runtime oracle not installed, skipping the agreement check: %v", err)
				return
			}
			path := filepath.Join(t.TempDir(), "q.onnx")
			require.NoError(t, q.Save(path))
			theirs, err := ortoracle.Run(path, x, 1)
			require.NoError(t, err, "ONNX Runtime refused the model")
			sess, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
			require.NoError(t, err)
			got, err := sess.RunTensors(x)
			require.NoError(t, err)
			for _, o := range m.Graph.Outputs {
				db := snrDB(theirs[o.Name].F32(), got[o.Name].F32())
				t.Logf("%s: ours vs ONNX Runtime on the same file %.1f dB", o.Name, db)
				assert.Greater(t, db, 28.0, "%s agrees with ONNX Runtime", o.Name)
			}
		})
	}
}

// withActs sets the recurrent node's activations attribute.
func withActs(m *graph.Model, acts ...string) *graph.Model {
	for _, n := range m.Graph.Nodes {
		if n.OpType == "GRU" || n.OpType == "LSTM" {
			n.Attrs["activations"] = &graph.Attr{Name: "activations", Type: graph.AttrStrings, Strings: acts}
		}
	}
	return m
}

// A GRU with linear_before_reset = 0 and a clip or other activations stays
// float32 with a note: its int8 step runs the default fused cell only.
func TestQuantizeStaticGRUResetFirstOtherCellStaysFloat(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(n *graph.Node)
	}{
		{"clip", func(n *graph.Node) { n.SetAttrFloat("clip", 2) }},
		{"HardSigmoid", func(n *graph.Node) {
			n.Attrs["activations"] = &graph.Attr{Name: "activations", Type: graph.AttrStrings, Strings: []string{"HardSigmoid", "Tanh"}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(3))
			m := gruModel(rng, 5, 2, 8, 8, "forward", 0, nil)
			tt.set(m.Graph.Nodes[0])
			// A Relu after it, so that the model has an operator to quantize.
			m.Graph.Nodes = append(m.Graph.Nodes, node("Relu", []string{"y"}, []string{"r"}))
			m.Graph.Outputs[0] = &graph.Value{Name: "r", DType: graph.Float32}
			x := map[string]*graph.Tensor{"x": randTensor(rng, []int{5, 2, 8}, 1)}
			q, err := Quantize(m, rangesFromData(t, m, x), QuantOptions{})
			require.NoError(t, err)
			assert.Equal(t, 2, countOps(q)["QuantizeLinear"], "the Relu's input and output are quantized, the GRU's X is not")
			for _, n := range q.Graph.Nodes {
				if n.OpType == "GRU" {
					assert.Equal(t, "W", n.Input(1))
					assert.Equal(t, "R", n.Input(2))
				}
			}
			assert.Equal(t, graph.Float32, q.Graph.Initializers["W"].DType)
		})
	}
}
