package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// rnnRefCfg configures the float64 reference of the recurrent operators, written
// straight from the ONNX equations with layout 0 tensors.
type rnnRefCfg struct {
	kind                      string
	hidden, dirs              int
	reverse                   bool
	clip                      float64
	inputForget, linearBefore bool
	f, g, h                   func(float64) float64
}

func sigm(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// rnnRef returns Y [seq, dirs, batch, h], Y_h and Y_c [dirs, batch, h].
func rnnRef(c rnnRefCfg, x, w, r, b *graph.Tensor, lens []int32, h0, c0, p *graph.Tensor) (y, yh, yc []float64) {
	seq, batch, in := x.Shape[0], x.Shape[1], x.Shape[2]
	H := c.hidden
	G := graph.RNNGates(c.kind)
	y = make([]float64, seq*c.dirs*batch*H)
	yh = make([]float64, c.dirs*batch*H)
	yc = make([]float64, c.dirs*batch*H)
	at := func(t *graph.Tensor, i int) float64 {
		if t == nil {
			return 0
		}
		return float64(t.F32()[i])
	}
	clip := func(v float64) float64 {
		if c.clip > 0 {
			return math.Max(-c.clip, math.Min(c.clip, v))
		}
		return v
	}
	for d := 0; d < c.dirs; d++ {
		rev := c.reverse || d == 1
		for bi := 0; bi < batch; bi++ {
			L := seq
			if lens != nil {
				L = int(lens[bi])
			}
			hs := make([]float64, H)
			cs := make([]float64, H)
			for j := 0; j < H; j++ {
				hs[j] = at(h0, (d*batch+bi)*H+j)
				cs[j] = at(c0, (d*batch+bi)*H+j)
			}
			for step := 0; step < L; step++ {
				t := step
				if rev {
					t = L - 1 - step
				}
				// xw[g*H+j] = X W^T + Wb, hw = H R^T + Rb (per gate row).
				xw := make([]float64, G*H)
				hw := make([]float64, G*H)
				for row := 0; row < G*H; row++ {
					for k := 0; k < in; k++ {
						xw[row] += at(x, (t*batch+bi)*in+k) * at(w, (d*G*H+row)*in+k)
					}
					for k := 0; k < H; k++ {
						hw[row] += hs[k] * at(r, (d*G*H+row)*H+k)
					}
					xw[row] += at(b, d*2*G*H+row)
					hw[row] += at(b, d*2*G*H+G*H+row)
				}
				nh := make([]float64, H)
				switch c.kind {
				case "LSTM":
					for j := 0; j < H; j++ {
						pi, po, pf := at(p, d*3*H+j), at(p, d*3*H+H+j), at(p, d*3*H+2*H+j)
						f := c.f(clip(xw[2*H+j] + hw[2*H+j] + pf*cs[j]))
						i := c.f(clip(xw[j] + hw[j] + pi*cs[j]))
						if c.inputForget {
							i = 1 - f
						}
						g := c.g(clip(xw[3*H+j] + hw[3*H+j]))
						cn := f*cs[j] + i*g
						o := c.f(clip(xw[H+j] + hw[H+j] + po*cn))
						cs[j] = cn
						nh[j] = o * c.h(cn)
					}
				case "GRU":
					z := make([]float64, H)
					rr := make([]float64, H)
					for j := 0; j < H; j++ {
						z[j] = c.f(clip(xw[j] + hw[j]))
						rr[j] = c.f(clip(xw[H+j] + hw[H+j]))
					}
					for j := 0; j < H; j++ {
						var pre float64
						if c.linearBefore {
							pre = xw[2*H+j] + rr[j]*hw[2*H+j]
						} else {
							var s float64
							for k := 0; k < H; k++ {
								s += rr[k] * hs[k] * at(r, (d*G*H+2*H+j)*H+k)
							}
							pre = xw[2*H+j] + s + at(b, d*2*G*H+G*H+2*H+j)
						}
						nh[j] = (1-z[j])*c.g(clip(pre)) + z[j]*hs[j]
					}
				default:
					for j := 0; j < H; j++ {
						nh[j] = c.f(clip(xw[j] + hw[j]))
					}
				}
				hs = nh
				for j := 0; j < H; j++ {
					y[((t*c.dirs+d)*batch+bi)*H+j] = hs[j]
				}
			}
			for j := 0; j < H; j++ {
				yh[(d*batch+bi)*H+j] = hs[j]
				yc[(d*batch+bi)*H+j] = cs[j]
			}
		}
	}
	return y, yh, yc
}

func f64ToF32(shape []int, v []float64) *graph.Tensor {
	t := graph.NewTensor(graph.Float32, shape)
	for i, x := range v {
		t.F32()[i] = float32(x)
	}
	return t
}

func TestRNNMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	relu := func(v float64) float64 { return math.Max(v, 0) }
	cases := []struct {
		name      string
		cfg       rnnRefCfg
		attrs     []*graph.Attr
		seq, b, i int
		bias      bool
		lens      []int32
		init      bool
		peep      bool
		layout    int64
	}{
		{name: "lstm bidirectional seq lens", cfg: rnnRefCfg{kind: "LSTM", hidden: 3, dirs: 2},
			attrs: []*graph.Attr{aStr("direction", "bidirectional")}, seq: 4, b: 3, i: 2, bias: true, lens: []int32{4, 2, 0}, init: true},
		{name: "lstm reverse peepholes clip", cfg: rnnRefCfg{kind: "LSTM", hidden: 2, dirs: 1, reverse: true, clip: 0.5},
			attrs: []*graph.Attr{aStr("direction", "reverse"), aFloat("clip", 0.5)}, seq: 3, b: 2, i: 3, bias: true, peep: true, init: true},
		{name: "lstm input forget batch-first", cfg: rnnRefCfg{kind: "LSTM", hidden: 4, dirs: 1, inputForget: true},
			attrs: []*graph.Attr{aInt("input_forget", 1)}, seq: 5, b: 2, i: 3, bias: true, init: true, layout: 1},
		{name: "gru bidirectional", cfg: rnnRefCfg{kind: "GRU", hidden: 3, dirs: 2},
			attrs: []*graph.Attr{aStr("direction", "bidirectional")}, seq: 3, b: 2, i: 2, bias: true, lens: []int32{3, 1}, init: true},
		{name: "gru linear before reset", cfg: rnnRefCfg{kind: "GRU", hidden: 4, dirs: 1, linearBefore: true},
			attrs: []*graph.Attr{aInt("linear_before_reset", 1)}, seq: 3, b: 2, i: 3, bias: true},
		{name: "gru batch-first reverse", cfg: rnnRefCfg{kind: "GRU", hidden: 2, dirs: 1, reverse: true},
			attrs: []*graph.Attr{aStr("direction", "reverse")}, seq: 4, b: 3, i: 2, init: true, layout: 1},
		// Hidden sizes that fill several 16-wide panels of the packed recurrent
		// weights and leave a partial one.
		{name: "gru hidden 20 bidirectional", cfg: rnnRefCfg{kind: "GRU", hidden: 20, dirs: 2},
			attrs: []*graph.Attr{aStr("direction", "bidirectional")}, seq: 5, b: 3, i: 7, bias: true, init: true},
		// Outputs above the arena's minimum length (Y 2,304 values, the input
		// projection 4,608), no initial state, a sequence ending early.
		{name: "lstm hidden 48 bidirectional arena", cfg: rnnRefCfg{kind: "LSTM", hidden: 48, dirs: 2},
			attrs: []*graph.Attr{aStr("direction", "bidirectional")}, seq: 12, b: 2, i: 10, bias: true, lens: []int32{12, 7}},
		// Batches of 5 (the few-row recurrent product, four panels a call)
		// and 7 (a six-row tile and a one-row tail), hidden sizes over 64.
		{name: "lstm batch 5 hidden 40", cfg: rnnRefCfg{kind: "LSTM", hidden: 40, dirs: 1}, seq: 3, b: 5, i: 9, bias: true, init: true},
		{name: "gru linear before reset batch 7 hidden 33", cfg: rnnRefCfg{kind: "GRU", hidden: 33, dirs: 2, linearBefore: true},
			attrs: []*graph.Attr{aStr("direction", "bidirectional"), aInt("linear_before_reset", 1)}, seq: 3, b: 7, i: 6, bias: true, lens: []int32{3, 3, 1, 2, 3, 0, 3}},
		{name: "lstm hidden 17", cfg: rnnRefCfg{kind: "LSTM", hidden: 17, dirs: 1}, seq: 4, b: 2, i: 5, bias: true, init: true},
		{name: "rnn relu bidirectional", cfg: rnnRefCfg{kind: "RNN", hidden: 3, dirs: 2, f: relu},
			attrs: []*graph.Attr{aStr("direction", "bidirectional"), {Name: "activations", Type: graph.AttrStrings, Strings: []string{"Relu", "Relu"}}},
			seq:   3, b: 2, i: 4, bias: true, init: true},
		{name: "rnn affine and scaled tanh", cfg: rnnRefCfg{kind: "RNN", hidden: 2, dirs: 2},
			attrs: []*graph.Attr{aStr("direction", "bidirectional"),
				{Name: "activations", Type: graph.AttrStrings, Strings: []string{"Affine", "ScaledTanh"}},
				{Name: "activation_alpha", Type: graph.AttrFloats, Floats: []float32{0.5, 2}},
				{Name: "activation_beta", Type: graph.AttrFloats, Floats: []float32{0.25, 0.5}}},
			seq: 2, b: 1, i: 2, bias: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			if c.f == nil {
				c.f, c.g, c.h = sigm, math.Tanh, math.Tanh
				if c.kind == "RNN" {
					c.f = math.Tanh
				}
			}
			G, H, D := graph.RNNGates(c.kind), c.hidden, c.dirs
			x := randF32(rng, tc.seq, tc.b, tc.i)
			w, r := randF32(rng, D, G*H, tc.i), randF32(rng, D, G*H, H)
			var b, h0, c0, p *graph.Tensor
			ins := []*graph.Tensor{nil, w, r, nil, nil, nil, nil, nil}
			if tc.bias {
				b = randF32(rng, D, 2*G*H)
				ins[3] = b
			}
			if tc.lens != nil {
				ins[4] = i32([]int{tc.b}, tc.lens...)
			}
			if tc.init {
				h0 = randF32(rng, D, tc.b, H)
				ins[5] = h0
				if c.kind == "LSTM" {
					c0 = randF32(rng, D, tc.b, H)
					ins[6] = c0
				}
			}
			if tc.peep {
				p = randF32(rng, D, 3*H)
				ins[7] = p
			}
			y, yh, yc := rnnRef(c, x, w, r, b, tc.lens, h0, c0, p)
			if c.kind == "RNN" && tc.name == "rnn affine and scaled tanh" {
				// The reference with per-direction functions.
				c1, c2 := c, c
				c1.f = func(v float64) float64 { return 0.5*v + 0.25 }
				c2.f = func(v float64) float64 { return 2 * math.Tanh(0.5*v) }
				c1.dirs, c2.dirs = 1, 1
				y = make([]float64, tc.seq*2*tc.b*H)
				yh = make([]float64, 2*tc.b*H)
				for d, cc := range []rnnRefCfg{c1, c2} {
					cc.reverse = d == 1
					sub := func(t *graph.Tensor) *graph.Tensor {
						n := t.Len() / 2
						return graph.FromFloat32(append([]int{1}, t.Shape[1:]...), t.F32()[d*n:(d+1)*n])
					}
					yd, yhd, _ := rnnRef(cc, x, sub(w), sub(r), sub(b), nil, nil, nil, nil)
					for s := 0; s < tc.seq; s++ {
						copy(y[(s*2+d)*tc.b*H:(s*2+d+1)*tc.b*H], yd[s*tc.b*H:(s+1)*tc.b*H])
					}
					copy(yh[d*tc.b*H:(d+1)*tc.b*H], yhd)
				}
			}
			n := mk(c.kind, 8, 3, append(tc.attrs, aInt("hidden_size", int64(H)))...)
			for i, v := range ins {
				if v == nil && i > 0 {
					n.Inputs[i] = ""
				}
			}
			if c.kind != "LSTM" {
				n.Inputs = n.Inputs[:6]
				ins = ins[:6]
				n.Outputs = n.Outputs[:2]
			}
			xin := x
			if tc.layout == 1 {
				n.Attrs["layout"] = aInt("layout", 1)
				var err error
				xin, err = rnnTranspose01(x)
				require.NoError(t, err)
				for _, i := range []int{5, 6} {
					if i < len(ins) && ins[i] != nil {
						ins[i], err = rnnTranspose01(ins[i])
						require.NoError(t, err)
					}
				}
			}
			ins[0] = xin
			got, err := runNodeWith(t, 14, 2, n, nil, ins...)
			require.NoError(t, err)
			wantY := f64ToF32([]int{tc.seq, D, tc.b, H}, y)
			wantH := f64ToF32([]int{D, tc.b, H}, yh)
			wantC := f64ToF32([]int{D, tc.b, H}, yc)
			if tc.layout == 1 {
				wantY, _ = nnPermute(wantY, []int{2, 0, 1, 3})
				wantH, _ = rnnTranspose01(wantH)
				wantC, _ = rnnTranspose01(wantC)
			}
			tol := Tolerance{Rtol: 1e-4, Atol: 1e-5}
			require.NoError(t, CompareTensors(got[0], wantY, tol), "Y")
			require.NoError(t, CompareTensors(got[1], wantH, tol), "Y_h")
			if c.kind == "LSTM" {
				require.NoError(t, CompareTensors(got[2], wantC, tol), "Y_c")
			}
			// W and R as initializers are packed once, at the first run,
			// and the outputs keep the per-run packing's bits, at every run.
			perRun, err := buildRNN(&BuildContext{Node: n, Opset: 14})
			require.NoError(t, err)
			consts, err := buildRNN(&BuildContext{Node: n, Opset: 14, Consts: []*graph.Tensor{nil, w, r}})
			require.NoError(t, err)
			// The outputs come from the run's arena: each run's outputs are
			// poisoned with NaN and given back to the pool, so a value the
			// kernel failed to write would show in the next run.
			pool := &bufPool{}
			for run := 0; run < 3; run++ {
				for _, th := range []int{1, 2} {
					want, err := perRun.Run(&ExecContext{Threads: th}, ins)
					require.NoError(t, err)
					got, err := consts.Run(&ExecContext{Threads: th, arena: &runArena{pool: pool}}, ins)
					require.NoError(t, err)
					require.Len(t, got, len(want))
					for o := range want {
						require.Equal(t, want[o].F32(), got[o].F32(), "output %d run %d threads %d", o, run, th)
					}
					for _, o := range got {
						d := o.F32()
						for i := range d {
							d[i] = float32(math.NaN())
						}
						pool.put(&d)
					}
				}
			}
			require.Len(t, consts.(*rnnKernel).packs.rp, D, "the initializers were packed")
			require.Len(t, consts.(*rnnKernel).packs.wp, D, "the initializers were packed")
			require.Empty(t, perRun.(*rnnKernel).packs.rp)
			require.Empty(t, perRun.(*rnnKernel).packs.wp)
		})
	}
}

func TestRNNErrors(t *testing.T) {
	x := graph.NewTensor(graph.Float32, []int{2, 1, 3})
	w := graph.NewTensor(graph.Float32, []int{1, 8, 3})
	r := graph.NewTensor(graph.Float32, []int{1, 8, 2})
	cases := []struct {
		name    string
		node    *graph.Node
		inputs  []*graph.Tensor
		wantErr string
	}{
		{"wrong R", mk("LSTM", 3, 1, aInt("hidden_size", 2)), []*graph.Tensor{x, w, graph.NewTensor(graph.Float32, []int{1, 8, 3})}, "input R has shape [1 8 3], expected [1 8 2]"},
		{"sequence length too long", mk("LSTM", 5, 1, aInt("hidden_size", 2)), []*graph.Tensor{x, w, r, nil, i32([]int{1}, 3)}, "sequence_lens[0] = 3 is outside [0, 2]"},
		{"bad activation count", mk("LSTM", 3, 1, aInt("hidden_size", 2), &graph.Attr{Name: "activations", Type: graph.AttrStrings, Strings: []string{"Tanh"}}), []*graph.Tensor{x, w, r}, "activations lists 1 functions, expected 3"},
		{"float64", mk("RNN", 3, 1, aInt("hidden_size", 2)), []*graph.Tensor{{DType: graph.Float64, Shape: []int{1, 1, 1}, Data: []float64{1}}, {DType: graph.Float64, Shape: []int{1, 2, 1}, Data: []float64{1, 1}}, {DType: graph.Float64, Shape: []int{1, 2, 2}, Data: []float64{1, 1, 1, 1}}}, "unsupported input type float64"},
		{"rank 2 X", mk("GRU", 3, 1, aInt("hidden_size", 2)), []*graph.Tensor{graph.NewTensor(graph.Float32, []int{2, 3}), graph.NewTensor(graph.Float32, []int{1, 6, 3}), graph.NewTensor(graph.Float32, []int{1, 6, 2})}, "expected rank 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i, v := range tc.inputs {
				if v == nil {
					tc.node.Inputs[i] = ""
				}
			}
			var err error
			require.NotPanics(t, func() { _, err = runNodeDynamic(t, tc.node, tc.inputs...) })
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantErr)
			require.Contains(t, err.Error(), fmt.Sprintf("%s \"n\"", tc.node.OpType))
		})
	}
}
