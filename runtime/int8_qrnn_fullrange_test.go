package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// qdqRecurrentModel is a QDQ file's LSTM or GRU written by hand: X through a
// QuantizeLinear/DequantizeLinear pair, W and R as DequantizeLinear of int8
// constants with one scale per gate row (axis 1), one weight in share equal
// to -128 (the full int8 range, as PyTorch's qint8 writes it) and most of the
// others ±127, and a float bias.
func qdqRecurrentModel(rng *rand.Rand, kind string, lbr int64, seq, batch, in, hidden, share int) *graph.Model {
	gates := graph.RNNGates(kind)
	gh := gates * hidden
	g := &graph.Graph{Name: "qrnn", Values: map[string]*graph.Value{}, Initializers: map[string]*graph.Tensor{}}
	g.Inputs = []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(seq, batch, in), HasShape: true}}
	g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32}}
	g.Initializers["xs"] = graph.FromFloat32(nil, []float32{6.0 / 255})
	g.Initializers["xz"] = graph.FromInt8(nil, []int8{0})
	g.Nodes = append(g.Nodes,
		&graph.Node{Name: "q", OpType: "QuantizeLinear", Inputs: []string{"x", "xs", "xz"}, Outputs: []string{"xq"}, Attrs: map[string]*graph.Attr{}},
		&graph.Node{Name: "dq", OpType: "DequantizeLinear", Inputs: []string{"xq", "xs", "xz"}, Outputs: []string{"xd"}, Attrs: map[string]*graph.Attr{}})
	for _, w := range []struct {
		name string
		k    int
	}{{"W", in}, {"R", hidden}} {
		q := make([]int8, gh*w.k)
		for i := range q {
			switch {
			case rng.Intn(share) == 0:
				q[i] = -128
			case rng.Intn(2) == 0:
				q[i] = int8(127 - 254*rng.Intn(2))
			default:
				q[i] = int8(rng.Intn(255) - 127)
			}
		}
		sc := make([]float32, gh)
		for i := range sc {
			sc[i] = float32((0.5 + rng.Float64()) / (128 * math.Sqrt(float64(w.k))))
		}
		g.Initializers[w.name+"q"] = graph.FromInt8([]int{1, gh, w.k}, q)
		g.Initializers[w.name+"s"] = graph.FromFloat32([]int{gh}, sc)
		g.Initializers[w.name+"z"] = graph.FromInt8([]int{gh}, make([]int8, gh))
		dq := &graph.Node{Name: w.name + "_dq", OpType: "DequantizeLinear", Inputs: []string{w.name + "q", w.name + "s", w.name + "z"},
			Outputs: []string{w.name + "d"}, Attrs: map[string]*graph.Attr{}}
		dq.SetAttrInt("axis", 1)
		g.Nodes = append(g.Nodes, dq)
	}
	b := make([]float32, 2*gh)
	for i := range b {
		b[i] = float32(rng.NormFloat64() * 0.2)
	}
	g.Initializers["B"] = graph.FromFloat32([]int{1, 2 * gh}, b)
	rnn := &graph.Node{Name: "rnn", OpType: kind, Inputs: []string{"xd", "Wd", "Rd", "B"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{}}
	rnn.SetAttrInt("hidden_size", int64(hidden))
	if kind == "GRU" {
		rnn.SetAttrInt("linear_before_reset", lbr)
	}
	g.Nodes = append(g.Nodes, rnn)
	return &graph.Model{Graph: g, Opsets: map[string]int64{"": 14}}
}

// TestQRNNFullRangeWeights: a QDQ LSTM or GRU whose int8 weights hold -128 is
// lowered to QRNN (it stayed float32 before) and stays within the quantization
// tolerance of the float executor on the same file (which dequantizes the
// weights exactly), at 1 and 2 threads, batch rows 1-5 (the matrix-vector
// kernel takes 4 at a time). The hidden state of each step is quantized over
// its own range, so its codes reach 0 and 255 every step: a product summed
// through int16 would saturate against these weights.
func TestQRNNFullRangeWeights(t *testing.T) {
	rng := rand.New(rand.NewSource(128))
	for i, tc := range []struct {
		kind                          string
		lbr                           int64
		seq, batch, in, hidden, share int
	}{
		{"LSTM", 0, 5, 1, 12, 16, 4},
		{"LSTM", 0, 4, 5, 7, 9, 1},
		{"GRU", 1, 5, 2, 12, 16, 4},
		{"GRU", 0, 4, 3, 10, 12, 8},
	} {
		t.Run(fmt.Sprintf("%s lbr%d b%d share%d", tc.kind, tc.lbr, tc.batch, tc.share), func(t *testing.T) {
			m := qdqRecurrentModel(rng, tc.kind, tc.lbr, tc.seq, tc.batch, tc.in, tc.hidden, tc.share)
			x := randInput(rng, []int{tc.seq, tc.batch, tc.in}, -3, 3)
			ref, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
			require.NoError(t, err)
			want, err := ref.RunTensors(map[string]*graph.Tensor{"x": x})
			require.NoError(t, err)
			for _, threads := range []int{1, 2} {
				sess, err := NewSession(m, WithMode(ModeInt8), WithThreads(threads))
				require.NoError(t, err)
				lowered := false
				for _, p := range sess.Placement {
					lowered = lowered || p.OpType == "QRNN"
				}
				require.True(t, lowered, "case %d: the recurrent operator runs as QRNN", i)
				got, err := sess.RunTensors(map[string]*graph.Tensor{"x": x})
				require.NoError(t, err)
				worst := 0.0
				for j, v := range got["y"].F32() {
					worst = math.Max(worst, math.Abs(float64(v-want["y"].F32()[j])))
				}
				t.Logf("threads %d: largest difference from float32 %.4f", threads, worst)
				assert.Less(t, worst, 0.02, "threads %d", threads)
			}
		})
	}
}
