package quantizer

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

func TestQuantizeDynamicMLP(t *testing.T) {
	m := loadBundled(t, "fmnist_mlp")
	var notes []string
	q, err := QuantizeDynamic(m, DynamicOptions{Notes: func(s string) { notes = append(notes, s) }})
	require.NoError(t, err)
	ops := countOps(q)
	assert.Equal(t, 3, ops["MatMulInteger"])
	assert.Equal(t, 3, ops["DynamicQuantizeLinear"])
	assert.Zero(t, ops["Gemm"])
	assert.Equal(t, "dynamic", q.Metadata[MetaFormat])
	for _, n := range q.Graph.Nodes {
		if n.OpType == "MatMulInteger" {
			w := q.Graph.Initializers[n.Input(1)]
			require.NotNil(t, w)
			assert.Equal(t, graph.Int8, w.DType)
		}
	}
	n := 1000
	if testing.Short() {
		n = 300
	}
	want, _, _ := evalAccuracy(t, m, n, runtime.ModeFloat)
	got, _, _ := evalAccuracy(t, q, n, runtime.ModeAuto)
	assert.InDelta(t, want, got, 0.01, "dynamic int8 keeps the float accuracy")

	_, err = QuantizeDynamic(q, DynamicOptions{})
	assert.True(t, errors.Is(err, ErrAlreadyQuantized))
}

func TestQuantizeDynamicGemmForms(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	tests := []struct {
		name  string
		node  *graph.Node
		inits map[string]*graph.Tensor
		skip  bool
	}{
		{"matmul", node("MatMul", []string{"x", "w"}, []string{"y"}), map[string]*graph.Tensor{"w": randTensor(rng, []int{6, 4}, 1)}, false},
		{"gemm alpha beta", node("Gemm", []string{"x", "w", "c"}, []string{"y"}, intAttr("transB", 1), floatAttr("alpha", 0.5), floatAttr("beta", 2)),
			map[string]*graph.Tensor{"w": randTensor(rng, []int{4, 6}, 1), "c": randTensor(rng, []int{4}, 1)}, false},
		{"gemm transA", node("Gemm", []string{"x", "w"}, []string{"y"}, intAttr("transA", 1)), map[string]*graph.Tensor{"w": randTensor(rng, []int{3, 4}, 1)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shape := []int{3, 6}
			m := newModel("x", shape, []string{"y"}, []*graph.Node{tt.node}, tt.inits)
			var notes []string
			q, err := QuantizeDynamic(m, DynamicOptions{Notes: func(s string) { notes = append(notes, s) }})
			if tt.skip {
				require.Error(t, err)
				assert.NotEmpty(t, notes)
				return
			}
			require.NoError(t, err)
			x := randTensor(rng, shape, 1)
			want := runFloat(t, m, map[string]*graph.Tensor{"x": x})["y"]
			s, err := runtime.NewSession(q)
			require.NoError(t, err)
			got, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
			require.NoError(t, err)
			assert.Less(t, maxAbsDiff(want.F32(), got["y"].F32()), 0.1)
		})
	}
}

// An LSTM becomes DynamicQuantizeLSTM; GRU and RNN (which have no dynamically quantized
// ONNX form) stay float32 with a note saying why; the model still computes the same.
func TestQuantizeDynamicRecurrent(t *testing.T) {
	const hidden, in = 3, 4
	tests := []struct {
		op, want, note string
	}{
		{"LSTM", graph.DynamicLSTMOp, ""},
		{"GRU", "GRU", "no dynamically quantized GRU"},
		{"RNN", "RNN", "no dynamically quantized RNN"},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			gates := graph.RNNGates(tt.op)
			m := newModel("x", []int{5, 2, in}, []string{"y"}, []*graph.Node{
				node(tt.op, []string{"x", "W", "R"}, []string{"h"}, intAttr("hidden_size", hidden)),
				node("Squeeze", []string{"h", "one"}, []string{"hs"}),
				node("MatMul", []string{"hs", "w"}, []string{"y"}),
			}, map[string]*graph.Tensor{
				"W": randTensor(rng, []int{1, gates * hidden, in}, 0.5), "R": randTensor(rng, []int{1, gates * hidden, hidden}, 0.5),
				"one": graph.FromInt64([]int{1}, []int64{1}), "w": randTensor(rng, []int{hidden, 2}, 1),
			})
			var notes []string
			q, err := QuantizeDynamic(m, DynamicOptions{Notes: func(s string) { notes = append(notes, s) }})
			require.NoError(t, err)
			ops := countOps(q)
			assert.Equal(t, 1, ops[tt.want])
			assert.Equal(t, 1, ops["MatMulInteger"])
			if tt.note != "" {
				require.NotEmpty(t, notes)
				assert.Contains(t, notes[0], tt.note)
			} else {
				assert.Empty(t, notes)
			}
			x := randTensor(rng, []int{5, 2, in}, 1)
			want := runFloat(t, m, map[string]*graph.Tensor{"x": x})["y"]
			s, err := runtime.NewSession(q)
			require.NoError(t, err)
			got, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
			require.NoError(t, err)
			assert.Less(t, maxAbsDiff(want.F32(), got["y"].F32()), 0.05)
		})
	}
}
