package quantizer

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

// lstmModel builds X [seq, batch, in] -> LSTM(hidden) with random weights; extra
// inputs (B, sequence_lens, initial_h, initial_c, P) are added as initializers.
func lstmModel(rng *rand.Rand, seq, batch, in, hidden int, direction string, extras map[int]*graph.Tensor) *graph.Model {
	dirs := 1
	if direction == "bidirectional" {
		dirs = 2
	}
	inits := map[string]*graph.Tensor{
		"W": randTensor(rng, []int{dirs, 4 * hidden, in}, 0.4),
		"R": randTensor(rng, []int{dirs, 4 * hidden, hidden}, 0.3),
	}
	inputs := []string{"x", "W", "R"}
	names := []string{3: "B", 4: "seq_lens", 5: "h0", 6: "c0", 7: "P"}
	for i := 3; i < 8; i++ {
		if t := extras[i]; t != nil {
			inputs = append(inputs, names[i])
			inits[names[i]] = t
		} else {
			inputs = append(inputs, "")
		}
	}
	n := node("LSTM", inputs, []string{"y", "y_h", "y_c"}, intAttr("hidden_size", int64(hidden)))
	n.SetAttrString("direction", direction)
	m := newModel("x", []int{seq, batch, in}, []string{"y", "y_h", "y_c"}, []*graph.Node{n}, inits)
	m.Graph.Inputs[0].Shape = graph.ShapeOf(seq, batch, in)
	return m
}

// TestQuantizeDynamicLSTM: every LSTM form ONNX Runtime's DynamicQuantizeLSTM covers
// becomes that operator, runs on the int8 kernel close to the float LSTM, and (when
// ONNX Runtime is installed) agrees with ONNX Runtime on the written file.
func TestQuantizeDynamicLSTM(t *testing.T) {
	const seq, batch, in, hidden = 6, 3, 10, 16
	rng := rand.New(rand.NewSource(7))
	tests := []struct {
		name      string
		direction string
		extras    map[int]*graph.Tensor
	}{
		{"forward, no optional inputs", "forward", nil},
		{"reverse with bias", "reverse", map[int]*graph.Tensor{3: randTensor(rng, []int{1, 8 * hidden}, 0.2)}},
		{"bidirectional with initial states", "bidirectional", map[int]*graph.Tensor{
			3: randTensor(rng, []int{2, 8 * hidden}, 0.2),
			5: randTensor(rng, []int{2, batch, hidden}, 0.5), 6: randTensor(rng, []int{2, batch, hidden}, 0.5)}},
		{"sequence lengths and peepholes", "forward", map[int]*graph.Tensor{
			4: graph.FromInt32([]int{batch}, []int32{6, 2, 4}), 7: randTensor(rng, []int{1, 3 * hidden}, 0.3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := lstmModel(rng, seq, batch, in, hidden, tt.direction, tt.extras)
			q, err := QuantizeDynamic(m, DynamicOptions{})
			require.NoError(t, err)
			ops := countOps(q)
			require.Equal(t, 1, ops[graph.DynamicLSTMOp])
			require.Zero(t, ops["LSTM"])
			assert.Equal(t, int64(1), q.Opsets[graph.DynamicLSTMDomain])
			for _, n := range q.Graph.Nodes {
				if n.OpType == graph.DynamicLSTMOp {
					assert.Equal(t, graph.Int8, q.Graph.Initializers[n.Input(1)].DType)
					assert.Equal(t, []int{len(q.Graph.Initializers[n.Input(1)].Shape)}, []int{3})
					assert.Equal(t, in, q.Graph.Initializers[n.Input(1)].Shape[1], "W is stored transposed")
				}
			}
			x := map[string]*graph.Tensor{"x": randTensor(rng, []int{seq, batch, in}, 1)}
			want := runFloat(t, m, x)
			sess, err := runtime.NewSession(q)
			require.NoError(t, err)
			assert.Equal(t, runtime.ModeInt8, sess.Mode())
			for _, p := range sess.Placement {
				if p.OpType == graph.DynamicLSTMOp {
					assert.True(t, p.Int8, "the LSTM runs on the int8 kernel")
				}
			}
			got, err := sess.RunTensors(x)
			require.NoError(t, err)
			for _, o := range []string{"y", "y_h", "y_c"} {
				d := maxAbsDiff(want[o].F32(), got[o].F32())
				t.Logf("%s: max |int8 - float| = %.4f", o, d)
				assert.Less(t, d, 0.08, "%s within quantization tolerance of float", o)
			}
			if err := ortoracle.Available(); err != nil {
				t.Logf("ONNX Runtime oracle not installed, skipping the agreement check: %v", err)
				return
			}
			path := filepath.Join(t.TempDir(), "q.onnx")
			require.NoError(t, q.Save(path))
			theirs, err := ortoracle.Run(path, x, 1)
			require.NoError(t, err, "ONNX Runtime refused the model")
			for _, o := range []string{"y", "y_h", "y_c"} {
				d := maxAbsDiff(theirs[o].F32(), got[o].F32())
				t.Logf("%s: max |ours - ONNX Runtime| = %.5f", o, d)
				assert.Less(t, d, 0.02, "%s agrees with ONNX Runtime", o)
			}
		})
	}
}

// A batch-first LSTM (layout=1) becomes DynamicQuantizeLSTM between Transposes and
// computes what the float LSTM computes, in every output, with initial states.
func TestQuantizeDynamicLSTMBatchFirst(t *testing.T) {
	const seq, batch, in, hidden = 5, 3, 6, 8
	rng := rand.New(rand.NewSource(9))
	for _, dir := range []string{"forward", "bidirectional"} {
		t.Run(dir, func(t *testing.T) {
			dirs := map[string]int{"forward": 1, "bidirectional": 2}[dir]
			m := lstmModel(rng, seq, batch, in, hidden, dir, map[int]*graph.Tensor{
				5: randTensor(rng, []int{batch, dirs, hidden}, 0.5), 6: randTensor(rng, []int{batch, dirs, hidden}, 0.5)})
			m.Graph.Nodes[0].SetAttrInt("layout", 1)
			m.Graph.Inputs[0].Shape = graph.ShapeOf(batch, seq, in)
			q, err := QuantizeDynamic(m, DynamicOptions{})
			require.NoError(t, err)
			ops := countOps(q)
			require.Equal(t, 1, ops[graph.DynamicLSTMOp])
			require.Zero(t, ops["LSTM"])
			assert.Equal(t, 6, ops["Transpose"], "X, h0, c0 in; Y, Y_h, Y_c out")
			x := map[string]*graph.Tensor{"x": randTensor(rng, []int{batch, seq, in}, 1)}
			want := runFloat(t, m, x)
			sess, err := runtime.NewSession(q)
			require.NoError(t, err)
			got, err := sess.RunTensors(x)
			require.NoError(t, err)
			for _, o := range []string{"y", "y_h", "y_c"} {
				require.Equal(t, want[o].Shape, got[o].Shape, o)
				d := maxAbsDiff(want[o].F32(), got[o].F32())
				t.Logf("%s: max |int8 - float| = %.4f", o, d)
				assert.Less(t, d, 0.08, "%s within quantization tolerance of float", o)
			}
			if err := ortoracle.Available(); err != nil {
				t.Logf("ONNX Runtime oracle not installed, skipping the agreement check: %v", err)
				return
			}
			path := filepath.Join(t.TempDir(), "q.onnx")
			require.NoError(t, q.Save(path))
			theirs, err := ortoracle.Run(path, x, 1)
			require.NoError(t, err, "ONNX Runtime refused the model")
			for _, o := range []string{"y", "y_h", "y_c"} {
				assert.Less(t, maxAbsDiff(theirs[o].F32(), got[o].F32()), 0.02, "%s agrees with ONNX Runtime", o)
			}
		})
	}
}

// TestQuantizeDynamicLSTMKeepsFloat: LSTMs the operator cannot express stay float32
// with a note naming why.
func TestQuantizeDynamicLSTMKeepsFloat(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	tests := []struct {
		name   string
		edit   func(m *graph.Model)
		opts   DynamicOptions
		reason string
	}{
		{"excluded", func(*graph.Model) {}, DynamicOptions{Exclude: []string{"LSTM_y"}}, "excluded"},
		{"weights not constant", func(m *graph.Model) {
			w := m.Graph.Initializers["W"]
			delete(m.Graph.Initializers, "W")
			v := &graph.Value{Name: "W", DType: graph.Float32, Shape: graph.ShapeOf(w.Shape...), HasShape: true}
			m.Graph.Inputs = append(m.Graph.Inputs, v)
			m.Graph.Values["W"] = v
		}, DynamicOptions{}, "not 3-D float32 constants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := lstmModel(rng, 4, 2, 5, 4, "forward", nil)
			m.Graph.Nodes = append(m.Graph.Nodes, node("MatMul", []string{"y_h", "fc"}, []string{"logits"}))
			m.Graph.Initializers["fc"] = randTensor(rng, []int{4, 3}, 1)
			m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "logits", DType: graph.Float32})
			tt.edit(m)
			var notes []string
			tt.opts.Notes = func(s string) { notes = append(notes, s) }
			q, err := QuantizeDynamic(m, tt.opts)
			require.NoError(t, err)
			assert.Equal(t, 1, countOps(q)["LSTM"])
			assert.Zero(t, countOps(q)[graph.DynamicLSTMOp])
			require.NotEmpty(t, notes)
			assert.Contains(t, notes[0], "stays float32")
			assert.Contains(t, notes[0], tt.reason)
		})
	}
}

// TestQuantizeDynamicLSTMModel: the bundled Fashion-MNIST LSTM (rows as a 28-step
// sequence, hidden 128, made by scripts/train_lstm_fmnist.py) keeps its float accuracy
// with the LSTM and the classifier in int8.
func TestQuantizeDynamicLSTMModel(t *testing.T) {
	m := loadBundled(t, "fmnist_lstm")
	var notes []string
	q, err := QuantizeDynamic(m, DynamicOptions{Notes: func(s string) { notes = append(notes, s) }})
	require.NoError(t, err)
	ops := countOps(q)
	assert.Equal(t, 1, ops[graph.DynamicLSTMOp])
	assert.Zero(t, ops["LSTM"], "notes: %v", notes)
	assert.Equal(t, 1, ops["MatMulInteger"])
	n := 1000
	if testing.Short() {
		n = 250
	}
	want, _, _ := evalAccuracy(t, m, n, runtime.ModeFloat)
	got, _, mode := evalAccuracy(t, q, n, runtime.ModeAuto)
	assert.Equal(t, "int8", mode)
	t.Logf("float32 %.2f %%, dynamic int8 %.2f %% on %d test images", 100*want, 100*got, n)
	assert.InDelta(t, want, got, 0.006, "dynamic int8 keeps the float accuracy")
}
