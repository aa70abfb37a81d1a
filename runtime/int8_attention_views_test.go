package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// weightDQ is a QDQ weight [k, n]: int8 values, DequantizeLinear per tensor.
func (b *mb) weightDQ(k, n int) string {
	w := make([]int8, k*n)
	for i := range w {
		w[i] = int8(b.Rng.Intn(255) - 127)
	}
	sc := b.Init("ws", graph.FromFloat32(nil, []float32{0.01}))
	z := b.Init("wz", graph.FromInt8(nil, []int8{0}))
	return b.Node("DequantizeLinear", []string{b.Init("w", graph.FromInt8([]int{k, n}, w)), sc, z})
}

// TestInt8AttentionViews runs QDQ attention blocks whose q, k and v are cut
// out of one projection output and rearranged into heads (torch's
// MultiheadAttention: Slice, Reshape, q / √d, Transpose; the timm / relative
// position spelling: Reshape, Transpose, Split, Squeeze) and whose output is
// rearranged back (Transpose, Reshape), against the same int8 session with
// every tensor tapped (nothing fused or absorbed), at 1 and 2 threads, on
// random sizes and quantization parameters: the fused step reading and
// writing through views must equal the steps bit for bit, and no
// rearranging step may be left.
func TestInt8AttentionViews(t *testing.T) {
	axis := graph.IntAttr("axis", -1)
	type dims struct{ t, h, d int }
	cases := []struct {
		name  string
		input func(dm dims) []int
		build func(b *mb, dm dims, sc []float32, zp []int8)
	}{
		{name: "torch MultiheadAttention", input: func(dm dims) []int { return []int{dm.t, 1, 3 * dm.h * dm.d} },
			build: func(b *mb, dm dims, sc []float32, zp []int8) { torchMHA(b, dm.t, 1, dm.h, dm.d, sc, zp) }},
		// Batch 2 (encoder_mask): the heads of both batch entries as one
		// axis, [T, 2·H, d], after the Slice: batch and heads are not one
		// stride (a merged view dimension).
		{name: "torch MultiheadAttention batch 2", input: func(dm dims) []int { return []int{dm.t, 2, 3 * dm.h * dm.d} },
			build: func(b *mb, dm dims, sc []float32, zp []int8) { torchMHA(b, dm.t, 2, dm.h, dm.d, sc, zp) }},
		{name: "qkv Split, float scale and mask", input: func(dm dims) []int { return []int{1, dm.t, 3 * dm.h * dm.d} },
			build: func(b *mb, dm dims, sc []float32, zp []int8) {
				x := b.qdqNode("qkv", sc[0], zp[0])
				x = b.qdqNode(b.Node("Reshape", []string{x, b.i64(1, int64(dm.t), 3, int64(dm.h), int64(dm.d))}), sc[0], zp[0])
				x = b.qdqNode(b.Node("Transpose", []string{x}, graph.IntsAttr("perm", []int{2, 0, 3, 1, 4})), sc[0], zp[0])
				outs := []string{b.Name("split_out"), b.Name("split_out"), b.Name("split_out")}
				b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: b.Name("Split"), OpType: "Split", Inputs: []string{x}, Outputs: outs,
					Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", 0)}})
				var qkv [3]string
				for i, o := range outs {
					o = b.qdqNode(o, sc[0], zp[0])
					qkv[i] = b.qdqNode(b.Node("Squeeze", []string{o, b.i64(0)}), sc[0], zp[0])
				}
				kt := b.qdqNode(b.Node("Transpose", []string{qkv[1]}, graph.IntsAttr("perm", []int{0, 1, 3, 2})), sc[0], zp[0])
				s := b.qdqNode(b.Node("MatMul", []string{qkv[0], kt}), sc[2], zp[2])
				f := b.Node("Add", []string{b.Node("Mul", []string{s, b.Init("c", graph.ScalarFloat32(0.3))}), "mask"})
				p := b.qdqNode(b.Node("Softmax", []string{f}, axis), 1.0/255, -128)
				o := b.qdqNode(b.Node("MatMul", []string{p, qkv[2]}), sc[3], zp[3])
				o = b.qdqNode(b.Node("Transpose", []string{o}, graph.IntsAttr("perm", []int{0, 2, 1, 3})), sc[3], zp[3])
				o = b.qdqNode(b.Node("Reshape", []string{o, b.i64(1, int64(dm.t), int64(dm.h*dm.d))}), sc[3], zp[3])
				b.Output(b.qdqNode(b.Node("MatMul", []string{o, b.weightDQ(dm.h*dm.d, 5)}), 0.05, -3))
			}},
	}
	for _, tc := range cases {
		for seed := int64(0); seed < 5; seed++ {
			rng := rand.New(rand.NewSource(seed + 300))
			dm := dims{t: 1 + rng.Intn(30), h: 1 + rng.Intn(4), d: 1 + rng.Intn(20)}
			if seed == 4 {
				dm = dims{t: 40, h: 3, d: 32}
			}
			zp := []int8{int8(rng.Intn(61) - 30), int8(rng.Intn(61) - 30), int8(rng.Intn(61) - 30), int8(rng.Intn(61) - 30)}
			sc := []float32{2.0 / 127, 1.0 / 127, float32(math.Sqrt(float64(dm.d))) * 1.2 / 127, 1.5 / 127}
			t.Run(fmt.Sprintf("%s/%d", tc.name, seed), func(t *testing.T) {
				b := newMB(50 + seed)
				shape := tc.input(dm)
				b.Input("qkv", staticDims(shape...)...)
				in := map[string]*graph.Tensor{"qkv": randInput(rng, shape, -2, 2)}
				b.Input("mask", staticDims(dm.h, 1, dm.t)...)
				in["mask"] = randInput(rng, []int{dm.h, 1, dm.t}, -1, 0)
				for i, x := range in["mask"].F32() {
					if x < -0.7 {
						in["mask"].F32()[i] = float32(math.Inf(-1))
					}
				}
				tc.build(b, dm, sc, zp)
				m := b.Model()
				ref, err := NewSession(m, WithMode(ModeInt8), WithAllTaps(), WithThreads(1))
				require.NoError(t, err)
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				for _, th := range []int{1, 2} {
					s, err := NewSession(m, WithMode(ModeInt8), WithThreads(th))
					require.NoError(t, err)
					var k *qattentionKernel
					var kst step
					for _, st := range s.steps {
						if kk, ok := st.kernel.(*qattentionKernel); ok {
							k, kst = kk, st
						}
						switch st.node.OpType {
						case "Slice", "Split", "Squeeze", "Relayout", "QLUT", "Transpose", "Reshape":
							t.Errorf("step %s %T left", st.node.OpType, st.kernel)
						}
					}
					require.NotNil(t, k, "fused attention")
					for j, v := range k.views {
						require.NotNil(t, v, "operand %d view", j)
					}
					require.NotNil(t, k.outView)
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range m.Graph.Outputs {
						require.Equal(t, want[o.Name].Data, got[o.Name].Data, "%s, %d threads", o.Name, th)
					}
					// The absorbed steps one by one (the fallback for other
					// shapes) give the same output: the step's inputs are the
					// quantized qkv (its Quantize step run here) and the mask.
					ctx := &ExecContext{Threads: th}
					ins := make([]*graph.Tensor, len(kst.in))
					for j, id := range kst.in {
						if id == s.slots["mask"] {
							ins[j] = in["mask"]
							continue
						}
						for _, st := range s.steps {
							if len(st.out) == 1 && st.out[0] == id {
								args := []*graph.Tensor{in["qkv"], s.consts[st.in[1]], s.consts[st.in[2]]}
								r, err := st.kernel.Run(ctx, args)
								require.NoError(t, err)
								ins[j] = r[0]
							}
						}
						require.NotNil(t, ins[j], "input %d", j)
					}
					for j, vw := range k.views {
						x, err := k.runChain(ctx, vw.chain, ins[j])
						require.NoError(t, err)
						r, c := vw.shape[len(vw.shape)-2], vw.shape[len(vw.shape)-1]
						g := make([]int8, x.Len())
						for bi := range vw.offs {
							vw.gather(g[bi*r*c:], ins[j].Data.([]int8), bi, r, c)
						}
						require.Equal(t, x.Shape, vw.shape, "operand %d", j)
						require.Equal(t, x.Data, g, "operand %d", j)
					}
					fused, err := k.Run(ctx, ins)
					require.NoError(t, err)
					unfused, err := k.runUnfused(&ExecContext{Threads: th}, ins)
					require.NoError(t, err)
					require.Equal(t, unfused[0].Shape, fused[0].Shape)
					require.Equal(t, unfused[0].Data, fused[0].Data)
				}
			})
		}
	}
}

// torchMHA builds torch's MultiheadAttention (sequence first, batch bsz) on
// the input qkv [t, bsz, 3·h·d]: Slice, Reshape to [t, bsz·h, d], q / √d,
// Transpose, the products, Transpose and Reshape back, a QDQ output
// projection.
func torchMHA(b *mb, t, bsz, h, d int, sc []float32, zp []int8) {
	axis := graph.IntAttr("axis", -1)
	e := int64(h * d)
	x := b.qdqNode("qkv", sc[0], zp[0])
	part := func(i int64) string {
		s := b.qdqNode(b.Node("Slice", []string{x, b.i64(i * e), b.i64((i + 1) * e), b.i64(2)}), sc[0], zp[0])
		return b.qdqNode(b.Node("Reshape", []string{s, b.i64(int64(t), int64(bsz*h), int64(d))}), sc[0], zp[0])
	}
	q, k, v := part(0), part(1), part(2)
	q = b.qdqNode(b.Node("Div", []string{q, b.Init("sd", graph.ScalarFloat32(float32(math.Sqrt(float64(d)))))}), sc[1], zp[1])
	q = b.qdqNode(b.Node("Transpose", []string{q}, graph.IntsAttr("perm", []int{1, 0, 2})), sc[1], zp[1])
	kt := b.qdqNode(b.Node("Transpose", []string{k}, graph.IntsAttr("perm", []int{1, 2, 0})), sc[0], zp[0])
	v = b.qdqNode(b.Node("Transpose", []string{v}, graph.IntsAttr("perm", []int{1, 0, 2})), sc[0], zp[0])
	s := b.qdqNode(b.Node("MatMul", []string{q, kt}), sc[2], zp[2])
	p := b.qdqNode(b.Node("Softmax", []string{s}, axis), 1.0/255, -128)
	o := b.qdqNode(b.Node("MatMul", []string{p, v}), sc[3], zp[3])
	o = b.qdqNode(b.Node("Transpose", []string{o}, graph.IntsAttr("perm", []int{1, 0, 2})), sc[3], zp[3])
	o = b.qdqNode(b.Node("Reshape", []string{o, b.i64(int64(t*bsz), e)}), sc[3], zp[3])
	b.Output(b.qdqNode(b.Node("MatMul", []string{o, b.weightDQ(int(e), 7)}), 0.05, 3)) // the output projection
}
