package runtime

import (
	"fmt"
	"math"
	"math/rand"
	goruntime "runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// qdqNode puts QuantizeLinear → DequantizeLinear (int8, per tensor) after x.
func (b *mb) qdqNode(x string, scale float32, zp int8) string {
	sc := b.Init("s", graph.FromFloat32(nil, []float32{scale}))
	z := b.Init("z", graph.FromInt8(nil, []int8{zp}))
	return b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{x, sc, z}), sc, z})
}

// TestFuseInt8Attention runs QDQ attention blocks spelled as the quantizers
// write them against the same int8 session with every tensor tapped (which
// fuses nothing), at 1 and 2 threads, on random sizes, scales and zero
// points (property test: the fused step must equal the unfused steps bit
// for bit), and counts the fused steps.
func TestFuseInt8Attention(t *testing.T) {
	axis := graph.IntAttr("axis", -1)
	type dims struct{ h, m, n, d, dv int }
	type params struct {
		sq, sk, sv, ss, sc, so float32
		zq, zk, zv, zs, zc, zo int8
	}
	cases := []struct {
		name    string
		mask    bool // a float mask input [h, 1, n]
		fused   int
		twoOuts int
		build   func(b *mb, pr params, dm dims) // q, kt, v (and mask) are inputs
	}{
		// MatMul → QDQ → Softmax → QDQ → MatMul → QDQ (the torch encoder and
		// wav2vec2 exports through our quantizer): the QSoftmax form.
		{name: "quantized scores, QSoftmax", fused: 1, build: func(b *mb, pr params, dm dims) {
			s := b.qdqNode(b.Node("MatMul", []string{b.qdqNode("q", pr.sq, pr.zq), b.qdqNode("kt", pr.sk, pr.zk)}), pr.ss, pr.zs)
			p := b.qdqNode(b.Node("Softmax", []string{s}, axis), 1.0/255, -128)
			b.Output(b.qdqNode(b.Node("MatMul", []string{p, b.qdqNode("v", pr.sv, pr.zv)}), pr.so, pr.zo))
		}},
		// The scores scaled and quantized again (a QLUT), then QSoftmax.
		{name: "scaled scores quantized, QSoftmax", fused: 1, build: func(b *mb, pr params, dm dims) {
			s := b.qdqNode(b.Node("MatMul", []string{b.qdqNode("q", pr.sq, pr.zq), b.qdqNode("kt", pr.sk, pr.zk)}), pr.ss, pr.zs)
			c := b.qdqNode(b.Node("Mul", []string{s, b.Init("c", graph.ScalarFloat32(0.25))}), pr.sc, pr.zc)
			p := b.qdqNode(b.Node("Softmax", []string{c}, axis), 1.0/255, -128)
			b.Output(b.qdqNode(b.Node("MatMul", []string{p, b.qdqNode("v", pr.sv, pr.zv)}), pr.so, pr.zo))
		}},
		// ALBERT / relative-position exports: scores / √d and the mask Add
		// left float, the Softmax's input not quantized.
		{name: "scores divided, float mask Add", mask: true, fused: 1, build: func(b *mb, pr params, dm dims) {
			s := b.qdqNode(b.Node("MatMul", []string{b.qdqNode("q", pr.sq, pr.zq), b.qdqNode("kt", pr.sk, pr.zk)}), pr.ss, pr.zs)
			x := b.Node("Add", []string{b.Node("Div", []string{s, b.Init("d", graph.ScalarFloat32(float32(math.Sqrt(float64(dm.d)))))}), "mask"})
			p := b.qdqNode(b.Node("Softmax", []string{x}, axis), 1.0/255, -128)
			b.Output(b.qdqNode(b.Node("MatMul", []string{p, b.qdqNode("v", pr.sv, pr.zv)}), pr.so, pr.zo))
		}},
		// The causal decoder: scores · c quantized (a QLUT), the causal
		// mask as Where(cond, −inf, scores) in float, then the Softmax.
		{name: "scaled scores, causal Where", fused: 1, build: func(b *mb, pr params, dm dims) {
			s := b.qdqNode(b.Node("MatMul", []string{b.qdqNode("q", pr.sq, pr.zq), b.qdqNode("kt", pr.sk, pr.zk)}), pr.ss, pr.zs)
			c := b.qdqNode(b.Node("Mul", []string{s, b.Init("c", graph.ScalarFloat32(0.125))}), pr.sc, pr.zc)
			w := b.Node("Where", []string{causalInit(b, dm.n, true, dm.m, dm.n), b.Init("ninf", graph.ScalarFloat32(float32(math.Inf(-1)))), c})
			p := b.qdqNode(b.Node("Softmax", []string{w}, axis), 1.0/255, -128)
			b.Output(b.qdqNode(b.Node("MatMul", []string{p, b.qdqNode("v", pr.sv, pr.zv)}), pr.so, pr.zo))
		}},
		// need_weights: p is also averaged over the heads (a second output
		// of the fused step).
		// (v is computed before the probabilities, as the projections are.)
		{name: "p also read", fused: 1, twoOuts: 1, build: func(b *mb, pr params, dm dims) {
			v := b.qdqNode("v", pr.sv, pr.zv)
			s := b.qdqNode(b.Node("MatMul", []string{b.qdqNode("q", pr.sq, pr.zq), b.qdqNode("kt", pr.sk, pr.zk)}), pr.ss, pr.zs)
			p := b.qdqNode(b.Node("Softmax", []string{s}, axis), 1.0/255, -128)
			avg := b.Node("ReduceMean", []string{p}, graph.IntsAttr("axes", []int{0}), graph.IntAttr("keepdims", 0))
			b.Output(b.qdqNode(b.Node("MatMul", []string{p, v}), pr.so, pr.zo), avg)
		}},
		// Not fused: the scores are a graph output too; a LogSoftmax; p
		// read as a right operand.
		{name: "chains that must not fuse", fused: 0, build: func(b *mb, pr params, dm dims) {
			q, kt, v := b.qdqNode("q", pr.sq, pr.zq), b.qdqNode("kt", pr.sk, pr.zk), b.qdqNode("v", pr.sv, pr.zv)
			s := b.qdqNode(b.Node("MatMul", []string{q, kt}), pr.ss, pr.zs)
			p := b.qdqNode(b.Node("Softmax", []string{s}, axis), 1.0/255, -128)
			b.Output(b.qdqNode(b.Node("MatMul", []string{p, v}), pr.so, pr.zo), s)
			s2 := b.qdqNode(b.Node("MatMul", []string{q, kt}), pr.ss, pr.zs)
			p2 := b.qdqNode(b.Node("LogSoftmax", []string{s2}, axis), 0.05, 127)
			b.Output(b.qdqNode(b.Node("MatMul", []string{p2, v}), pr.so, pr.zo))
		}},
	}
	for _, tc := range cases {
		for seed := int64(0); seed < 6; seed++ {
			rng := rand.New(rand.NewSource(seed + 100))
			dm := dims{h: 1 + rng.Intn(4), m: 1 + rng.Intn(30), n: 1 + rng.Intn(30), d: 1 + rng.Intn(40), dv: 1 + rng.Intn(20)}
			if seed == 5 { // above the packed GEMM's size on both products
				dm = dims{h: 3, m: 40, n: 37, d: 64, dv: 24}
			}
			zp := func() int8 { return int8(rng.Intn(61) - 30) }
			// Scales that clamp some of the values (the ±2 inputs reach ±127
			// and past) and scores of about the products' spread.
			pr := params{sq: 1.6 / 127, sk: 2.2 / 127, sv: 1.9 / 127, zq: zp(), zk: zp(), zv: zp(), zs: zp(), zc: zp(), zo: zp(),
				ss: float32(math.Sqrt(float64(dm.d))) * 1.5 / 127, so: 1.5 / 127}
			pr.sc = pr.ss * 0.3
			t.Run(fmt.Sprintf("%s/%d", tc.name, seed), func(t *testing.T) {
				b := newMB(31 + seed)
				in := map[string]*graph.Tensor{}
				add := func(name string, shape ...int) {
					b.Input(name, staticDims(shape...)...)
					in[name] = randInput(rng, shape, -2, 2)
				}
				add("q", dm.h, dm.m, dm.d)
				add("kt", dm.h, dm.d, dm.n)
				add("v", dm.h, dm.n, dm.dv)
				if tc.mask {
					add("mask", dm.h, 1, dm.n)
					for i, x := range in["mask"].F32() {
						if x < -1 {
							in["mask"].F32()[i] = -10000
						}
					}
				}
				tc.build(b, pr, dm)
				m := b.Model()
				ref, err := NewSession(m, WithMode(ModeInt8), WithAllTaps(), WithThreads(1))
				require.NoError(t, err)
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				for _, th := range []int{1, 2} {
					s, err := NewSession(m, WithMode(ModeInt8), WithThreads(th))
					require.NoError(t, err)
					fused, twoOuts := 0, 0
					for _, st := range s.steps {
						if k, ok := st.kernel.(*qattentionKernel); ok {
							fused++
							if k.withP {
								twoOuts++
							}
						}
					}
					if fused != tc.fused {
						for _, st := range s.steps {
							t.Logf("%s %T %v %v", st.node.OpType, st.kernel, st.in, st.out)
						}
					}
					require.Equal(t, tc.fused, fused, "fused int8 attention steps")
					require.Equal(t, tc.twoOuts, twoOuts, "fused steps writing p")
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range m.Graph.Outputs {
						require.Equal(t, want[o.Name].Data, got[o.Name].Data, "%s, %d threads", o.Name, th)
					}
				}
			})
		}
	}
}

// TestFuseInt8AttentionOtherShapes feeds the fused step inputs of other
// shapes than planned (kᵀ one key shorter): it runs the absorbed steps one
// by one, as the unfused session does.
func TestFuseInt8AttentionOtherShapes(t *testing.T) {
	b := newMB(5)
	b.Input("q", staticDims(2, 6, 8)...)
	b.Input("kt", staticDims(2, 8, 7)...)
	b.Input("v", staticDims(2, 7, 5)...)
	s := b.qdqNode(b.Node("MatMul", []string{b.qdqNode("q", 0.02, 3), b.qdqNode("kt", 0.02, -4)}), 0.05, 2)
	x := b.Node("Div", []string{s, b.Init("d", graph.ScalarFloat32(2.828427))})
	p := b.qdqNode(b.Node("Softmax", []string{x}, graph.IntAttr("axis", -1)), 1.0/255, -128)
	b.Output(b.qdqNode(b.Node("MatMul", []string{p, b.qdqNode("v", 0.02, 1)}), 0.02, 0))
	sess, err := NewSession(b.Model(), WithMode(ModeInt8), WithThreads(1))
	require.NoError(t, err)
	var k *qattentionKernel
	var st step
	for _, c := range sess.steps {
		if kk, ok := c.kernel.(*qattentionKernel); ok {
			k, st = kk, c
		}
	}
	require.NotNil(t, k)
	rng := rand.New(rand.NewSource(2))
	ins := make([]*graph.Tensor, len(st.in))
	for i, shape := range [][]int{{2, 6, 8}, {2, 8, 6}, {2, 6, 5}} {
		d := make([]int8, graph.NumElements(shape))
		for j := range d {
			d[j] = int8(rng.Intn(256) - 128)
		}
		ins[i] = graph.FromInt8(shape, d)
	}
	got, err := k.Run(&ExecContext{Threads: 1}, ins)
	require.NoError(t, err)
	want, err := k.runUnfused(&ExecContext{Threads: 1}, ins)
	require.NoError(t, err)
	require.Equal(t, want[0].Shape, got[0].Shape)
	require.Equal(t, want[0].Data, got[0].Data)
	// and the fused path on the planned shapes equals the unfused one
	ins[1] = graph.FromInt8([]int{2, 8, 7}, make([]int8, 2*8*7))
	ins[2] = graph.FromInt8([]int{2, 7, 5}, make([]int8, 2*7*5))
	for j := range ins[1].Data.([]int8) {
		ins[1].Data.([]int8)[j] = int8(rng.Intn(256) - 128)
	}
	for j := range ins[2].Data.([]int8) {
		ins[2].Data.([]int8)[j] = int8(rng.Intn(256) - 128)
	}
	got, err = k.Run(&ExecContext{Threads: 2}, ins)
	require.NoError(t, err)
	want, err = k.runUnfused(&ExecContext{Threads: 1}, ins)
	require.NoError(t, err)
	require.Equal(t, want[0].Data, got[0].Data)
}

// BenchmarkInt8Attention times the fused int8 attention step on the heads of
// the small encoders (8 heads of 16 tokens, d = 8: encoder_mask; 4 of 24,
// d = 16: transformer_encoder) against the steps one by one, thread CPU per
// step at 1 thread:
//
//	go test ./runtime -run '^$' -bench Int8Attention -benchtime 3000x
func BenchmarkInt8Attention(b *testing.B) {
	for _, dm := range []struct{ h, m, d int }{{8, 16, 8}, {4, 24, 16}, {4, 96, 8}} {
		mb := newMB(1)
		mb.Input("q", staticDims(dm.h, dm.m, dm.d)...)
		mb.Input("kt", staticDims(dm.h, dm.d, dm.m)...)
		mb.Input("v", staticDims(dm.h, dm.m, dm.d)...)
		mb.Input("mask", staticDims(dm.h, 1, dm.m)...)
		s := mb.qdqNode(mb.Node("MatMul", []string{mb.qdqNode("q", 0.02, 3), mb.qdqNode("kt", 0.02, -4)}), 0.05, 2)
		x := mb.Node("Add", []string{mb.Node("Div", []string{s, mb.Init("d", graph.ScalarFloat32(2.828427))}), "mask"})
		p := mb.qdqNode(mb.Node("Softmax", []string{x}, graph.IntAttr("axis", -1)), 1.0/255, -128)
		mb.Output(mb.qdqNode(mb.Node("MatMul", []string{p, mb.qdqNode("v", 0.02, 1)}), 0.02, 0))
		sess, err := NewSession(mb.Model(), WithMode(ModeInt8), WithThreads(1))
		require.NoError(b, err)
		var k *qattentionKernel
		for _, c := range sess.steps {
			if kk, ok := c.kernel.(*qattentionKernel); ok {
				k = kk
			}
		}
		require.NotNil(b, k)
		rng := rand.New(rand.NewSource(2))
		var ins []*graph.Tensor
		for _, shape := range [][]int{{dm.h, dm.m, dm.d}, {dm.h, dm.d, dm.m}, {dm.h, dm.m, dm.d}} {
			d := make([]int8, graph.NumElements(shape))
			for j := range d {
				d[j] = int8(rng.Intn(256) - 128)
			}
			ins = append(ins, graph.FromInt8(shape, d))
		}
		ins = append(ins, randInput(rng, []int{dm.h, 1, dm.m}, -1, 0))
		for _, fused := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dx%dx%d/fused=%v", dm.h, dm.m, dm.d, fused), func(b *testing.B) {
				goruntime.LockOSThread()
				defer goruntime.UnlockOSThread()
				ctx := &ExecContext{Threads: 1}
				c0 := stepClock(1)
				for i := 0; i < b.N; i++ {
					if fused {
						_, err = k.Run(ctx, ins)
					} else {
						_, err = k.runUnfused(ctx, ins)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(stepClock(1)-c0)/1e3/float64(b.N), "cpu-µs")
			})
		}
	}
}
