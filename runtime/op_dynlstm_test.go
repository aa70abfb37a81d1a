package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// dynLSTMCase is a DynamicQuantizeLSTM with int8 weights and the float32 weights they
// stand for (dequantized, in the LSTM layout [dirs, 4*hidden, k]).
type dynLSTMCase struct {
	inputs     []*graph.Tensor // the node's 12 inputs (nil: absent)
	wDeq, rDeq *graph.Tensor
}

// randDynLSTM draws int8 weights in [-127, 127] with per-channel (or per-direction)
// scales that keep the gate pre-activations of order one.
func randDynLSTM(rng *rand.Rand, dirs, in, hidden int, perChannel bool) dynLSTMCase {
	return randDynLSTMShare(rng, dirs, in, hidden, perChannel, 0)
}

// randDynLSTMShare is randDynLSTM with one weight in share set to -128 (0: none;
// 1: all), the others pushed to ±127 half of the time.
func randDynLSTMShare(rng *rand.Rand, dirs, in, hidden int, perChannel bool, share int) dynLSTMCase {
	c := dynLSTMCase{inputs: make([]*graph.Tensor, 12)}
	for i, k := range []int{in, hidden} {
		n := 4 * hidden
		q := make([]int8, dirs*k*n)
		for j := range q {
			q[j] = int8(rng.Intn(255) - 127)
			if share > 0 {
				if rng.Intn(share) == 0 {
					q[j] = -128
				} else if rng.Intn(2) == 0 {
					q[j] = int8(127 - 254*rng.Intn(2))
				}
			}
		}
		shape := []int{dirs}
		if perChannel {
			shape = []int{dirs, n}
		}
		scale := graph.NewTensor(graph.Float32, shape)
		for j := range scale.F32() {
			scale.F32()[j] = float32((0.5 + rng.Float64()) / (127 * math.Sqrt(float64(k))))
		}
		deq := graph.NewTensor(graph.Float32, []int{dirs, n, k})
		for d := 0; d < dirs; d++ {
			for j := 0; j < k; j++ {
				for ch := 0; ch < n; ch++ {
					s := scale.F32()[d]
					if perChannel {
						s = scale.F32()[d*n+ch]
					}
					deq.F32()[(d*n+ch)*k+j] = float32(q[(d*k+j)*n+ch]) * s
				}
			}
		}
		c.inputs[1+i] = graph.FromInt8([]int{dirs, k, n}, q)
		c.inputs[8+2*i] = scale
		c.inputs[9+2*i] = graph.FromInt8(shape, make([]int8, len(scale.F32())))
		if i == 0 {
			c.wDeq = deq
		} else {
			c.rDeq = deq
		}
	}
	return c
}

func dynLSTMNode(hidden int, direction string) *graph.Node {
	n := mk(graph.DynamicLSTMOp, 12, 3, aInt("hidden_size", int64(hidden)), aStr("direction", direction))
	n.Domain = graph.DynamicLSTMDomain
	return n
}

// runDynLSTM runs the node with W, R and their parameters as initializers.
func runDynLSTM(t *testing.T, n *graph.Node, threads int, ins []*graph.Tensor) ([]*graph.Tensor, error) {
	consts := make([]bool, 12)
	for _, i := range []int{1, 2, 8, 9, 10, 11} {
		consts[i] = true
	}
	for i, v := range ins {
		if v == nil {
			n.Inputs[i] = ""
		}
	}
	return runNodeWith(t, 17, threads, n, consts, ins...)
}

// TestDynLSTMMatchesFloatReference is the kernel's property test: on random shapes,
// directions, per-channel or per-direction scales and optional inputs, the int8 LSTM
// stays within quantization tolerance of the float64 reference LSTM run with the
// dequantized weights (the only difference left is the 8-bit quantization of the
// input and hidden state at every step).
func TestDynLSTMMatchesFloatReference(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	for trial := 0; trial < 24; trial++ {
		seq, batch, in, hidden := 1+rng.Intn(7), 1+rng.Intn(4), 1+rng.Intn(40), 1+rng.Intn(20)
		direction := []string{"forward", "reverse", "bidirectional"}[rng.Intn(3)]
		dirs := 1
		if direction == "bidirectional" {
			dirs = 2
		}
		c := randDynLSTM(rng, dirs, in, hidden, rng.Intn(2) == 0)
		x := randF32(rng, seq, batch, in)
		c.inputs[0] = x
		var b, h0, c0, p *graph.Tensor
		var lens []int32
		if rng.Intn(2) == 0 {
			b = randF32(rng, dirs, 8*hidden)
			c.inputs[3] = b
		}
		if rng.Intn(3) == 0 {
			lens = make([]int32, batch)
			for i := range lens {
				lens[i] = int32(rng.Intn(seq + 1))
			}
			c.inputs[4] = i32([]int{batch}, lens...)
		}
		if rng.Intn(2) == 0 {
			h0, c0 = randF32(rng, dirs, batch, hidden), randF32(rng, dirs, batch, hidden)
			c.inputs[5], c.inputs[6] = h0, c0
		}
		if rng.Intn(3) == 0 {
			p = randF32(rng, dirs, 3*hidden)
			c.inputs[7] = p
		}
		cfg := rnnRefCfg{kind: "LSTM", hidden: hidden, dirs: dirs, reverse: direction == "reverse", f: sigm, g: math.Tanh, h: math.Tanh}
		y, yh, yc := rnnRef(cfg, x, c.wDeq, c.rDeq, b, lens, h0, c0, p)
		got, err := runDynLSTM(t, dynLSTMNode(hidden, direction), 1+trial%2, c.inputs)
		require.NoError(t, err, "trial %d", trial)
		for i, want := range [][]float64{y, yh, yc} {
			worst := 0.0
			for j, v := range got[i].F32() {
				worst = math.Max(worst, math.Abs(float64(v)-want[j]))
			}
			assert.Less(t, worst, 0.04, "trial %d (seq %d batch %d in %d hidden %d %s) output %d", trial, seq, batch, in, hidden, direction, i)
		}
	}
}

// TestDynLSTMFullRangeWeights: weights holding -128 (a few, a quarter, all of them;
// the rest mostly ±127) are taken, and the int8 LSTM stays within the quantization
// tolerance of the float64 reference, at 1 and 2 threads, batches of 1-5 rows (the
// matrix-vector kernel takes 4 at a time). The step's hidden state and input are
// quantized with DynamicQuantizeLinear's parameters, so their codes always reach 0
// and 255: a u8·s8 pair summed through int16 would saturate against these weights
// and miss by far more than the tolerance (kernels.TestQGemvDequantFullRange checks
// the products bit for bit on every dispatch path).
func TestDynLSTMFullRangeWeights(t *testing.T) {
	rng := rand.New(rand.NewSource(128))
	for trial, share := range []int{16, 4, 1, 16, 4, 1} {
		seq, batch, in, hidden := 2+rng.Intn(5), 1+trial%5, 3+rng.Intn(30), 5+rng.Intn(20)
		direction := []string{"forward", "bidirectional"}[trial%2]
		dirs := 1 + trial%2
		c := randDynLSTMShare(rng, dirs, in, hidden, trial%3 != 0, share)
		x := randF32(rng, seq, batch, in)
		c.inputs[0] = x
		b := randF32(rng, dirs, 8*hidden)
		c.inputs[3] = b
		cfg := rnnRefCfg{kind: "LSTM", hidden: hidden, dirs: dirs, f: sigm, g: math.Tanh, h: math.Tanh}
		y, yh, yc := rnnRef(cfg, x, c.wDeq, c.rDeq, b, nil, nil, nil, nil)
		for _, threads := range []int{1, 2} {
			got, err := runDynLSTM(t, dynLSTMNode(hidden, direction), threads, c.inputs)
			require.NoError(t, err, "trial %d", trial)
			for i, want := range [][]float64{y, yh, yc} {
				worst := 0.0
				for j, v := range got[i].F32() {
					worst = math.Max(worst, math.Abs(float64(v)-want[j]))
				}
				assert.Less(t, worst, 0.05, "trial %d (share %d seq %d batch %d in %d hidden %d %s, %d threads) output %d",
					trial, share, seq, batch, in, hidden, direction, threads, i)
			}
		}
	}
}

// TestDynLSTMErrors: malformed DynamicQuantizeLSTM nodes fail with an error naming the
// node and the problem, never a panic.
func TestDynLSTMErrors(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	const in, hidden = 4, 3
	base := func() []*graph.Tensor {
		c := randDynLSTM(rng, 1, in, hidden, true)
		c.inputs[0] = randF32(rng, 2, 1, in)
		return c.inputs
	}
	cases := []struct {
		name    string
		node    func() *graph.Node
		edit    func(ins []*graph.Tensor) []*graph.Tensor
		wantErr string
	}{
		{"bidirectional node with one direction of weights", func() *graph.Node { return dynLSTMNode(hidden, "bidirectional") },
			func(ins []*graph.Tensor) []*graph.Tensor { return ins }, "input W has shape [1,4,12], expected [2,4,12]"},
		{"sequence length beyond the sequence", func() *graph.Node { return dynLSTMNode(hidden, "forward") },
			func(ins []*graph.Tensor) []*graph.Tensor { ins[4] = i32([]int{1}, 5); return ins }, "sequence_lens[0] = 5 is outside [0, 2]"},
		{"sequence lengths of the wrong type", func() *graph.Node { return dynLSTMNode(hidden, "forward") },
			func(ins []*graph.Tensor) []*graph.Tensor {
				ins[4] = graph.FromInt64([]int{1}, []int64{2})
				return ins
			}, "sequence_lens is int64, expected int32"},
		{"missing W_scale and W_zero_point", func() *graph.Node { return dynLSTMNode(hidden, "forward") },
			func(ins []*graph.Tensor) []*graph.Tensor { ins[8], ins[9] = nil, nil; return ins }, "missing input 8 (W_scale)"},
		{"nonzero weight zero point", func() *graph.Node { return dynLSTMNode(hidden, "forward") },
			func(ins []*graph.Tensor) []*graph.Tensor { ins[11].I8()[2] = 3; return ins }, "R_zero_point 3: only symmetric weights"},
		{"scale of the wrong shape", func() *graph.Node { return dynLSTMNode(hidden, "forward") },
			func(ins []*graph.Tensor) []*graph.Tensor {
				ins[8], ins[9] = randF32(rng, 1, 5), graph.FromInt8([]int{1, 5}, make([]int8, 5))
				return ins
			}, "input W_scale has shape [1,5], expected [1,12]"},
		{"uint8 weights", func() *graph.Node { return dynLSTMNode(hidden, "forward") },
			func(ins []*graph.Tensor) []*graph.Tensor {
				ins[1] = graph.FromUint8(ins[1].Shape, make([]uint8, ins[1].Len()))
				return ins
			}, "input W is uint8, expected int8"},
		{"missing hidden_size", func() *graph.Node {
			n := dynLSTMNode(hidden, "forward")
			delete(n.Attrs, "hidden_size")
			return n
		}, func(ins []*graph.Tensor) []*graph.Tensor { return ins }, "hidden_size 0 must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.node()
			var err error
			require.NotPanics(t, func() { _, err = runDynLSTM(t, n, 1, tc.edit(base())) })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Contains(t, err.Error(), graph.DynamicLSTMOp)
		})
	}
}

// TestDynLSTMOptionalInputsAbsent: X, W, R and the weight parameters alone are enough
// (no bias, lengths, initial state or peepholes), and the output is the reference's.
func TestDynLSTMOptionalInputsAbsent(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	c := randDynLSTM(rng, 1, 6, 5, false)
	x := randF32(rng, 3, 2, 6)
	c.inputs[0] = x
	got, err := runDynLSTM(t, dynLSTMNode(5, "forward"), 1, c.inputs)
	require.NoError(t, err)
	cfg := rnnRefCfg{kind: "LSTM", hidden: 5, dirs: 1, f: sigm, g: math.Tanh, h: math.Tanh}
	_, yh, _ := rnnRef(cfg, x, c.wDeq, c.rDeq, nil, nil, nil, nil, nil)
	require.Len(t, got, 3)
	for j, v := range got[1].F32() {
		assert.InDelta(t, yh[j], float64(v), 0.03)
	}
}
