package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// kvStep builds a QDQ decoder step with a key/value cache as torch exports
// it (kv_cache_step): x [b, 1, h·d] → the QKV projection → Split → per
// operand Reshape [b, 1, h, d] and Transpose [b, h, 1, d]; k and v appended
// to the float past caches [b, h, p, d] by Concat along the tokens, the
// present caches graph outputs; with attn, the attention of q over them and
// its output rearranged back. sc are the scales of x, the projection, k's
// and v's caches, the scores and the output; the caches' scales differ from
// the projection's (the int8 file requantizes the new rows with a QLUT)
// unless same.
func kvStep(b *mb, bs, h, d, p int, sc []float32, zp []int8, attn, same bool) {
	hd := h * d
	b.Input("x", staticDims(bs, 1, hd)...)
	b.Input("past_key", staticDims(bs, h, p, d)...)
	b.Input("past_value", staticDims(bs, h, p, d)...)
	x := b.qdqNode("x", sc[0], zp[0])
	qkv := b.qdqNode(b.Node("MatMul", []string{x, b.weightDQ(hd, 3*hd)}), sc[1], zp[1])
	outs := []string{b.Name("split_out"), b.Name("split_out"), b.Name("split_out")}
	b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: b.Name("Split"), OpType: "Split", Inputs: []string{qkv, b.i64(int64(hd), int64(hd), int64(hd))}, Outputs: outs,
		Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", -1)}})
	var ops [3]string
	for i, o := range outs {
		s, z := sc[1], zp[1]
		if i > 0 && !same {
			s, z = sc[1+i], zp[1+i]
		}
		o = b.qdqNode(o, sc[1], zp[1])
		o = b.qdqNode(b.Node("Reshape", []string{o, b.i64(int64(bs), 1, int64(h), int64(d))}), sc[1], zp[1])
		ops[i] = b.qdqNode(b.Node("Transpose", []string{o}, graph.IntsAttr("perm", []int{0, 2, 1, 3})), s, z)
	}
	var present [2]string
	for i, past := range []string{"past_key", "past_value"} {
		s, z := sc[2+i], zp[2+i]
		if same {
			s, z = sc[1], zp[1]
		}
		cat := b.Node("Concat", []string{b.qdqNode(past, s, z), ops[1+i]}, graph.IntAttr("axis", 2))
		sq := b.Init("s", graph.FromFloat32(nil, []float32{s}))
		zq := b.Init("z", graph.FromInt8(nil, []int8{z}))
		q := b.Node("QuantizeLinear", []string{cat, sq, zq})
		present[i] = b.Name("present")
		b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: b.Name("DQ"), OpType: "DequantizeLinear", Inputs: []string{q, sq, zq}, Outputs: []string{present[i]}})
	}
	b.Output(present[0], present[1])
	if !attn {
		return
	}
	kt := b.qdqNode(b.Node("Transpose", []string{present[0]}, graph.IntsAttr("perm", []int{0, 1, 3, 2})), sc[2], zp[2])
	s := b.qdqNode(b.Node("MatMul", []string{ops[0], kt}), sc[4], zp[4])
	pr := b.qdqNode(b.Node("Softmax", []string{s}, graph.IntAttr("axis", -1)), 1.0/255, -128)
	o := b.qdqNode(b.Node("MatMul", []string{pr, present[1]}), sc[5], zp[5])
	o = b.qdqNode(b.Node("Transpose", []string{o}, graph.IntsAttr("perm", []int{0, 2, 1, 3})), sc[5], zp[5])
	o = b.qdqNode(b.Node("Reshape", []string{o, b.i64(int64(bs), 1, int64(hd))}), sc[5], zp[5])
	b.Output(b.qdqNode(b.Node("MatMul", []string{o, b.weightDQ(hd, 7)}), 0.05, -3))
}

// tokensCache builds a cache held tokens-major, [b, p, c]: the new row is a
// Slice of the projection's output, appended along axis 1.
func tokensCache(b *mb, bs, c, p int, sc []float32, zp []int8) {
	b.Input("x", staticDims(bs, 1, c)...)
	b.Input("past_key", staticDims(bs, p, c)...)
	x := b.qdqNode("x", sc[0], zp[0])
	y := b.qdqNode(b.Node("MatMul", []string{x, b.weightDQ(c, 2*c)}), sc[1], zp[1])
	k := b.qdqNode(b.Node("Slice", []string{y, b.i64(int64(c)), b.i64(int64(2 * c)), b.i64(2)}), sc[2], zp[2])
	cat := b.Node("Concat", []string{b.qdqNode("past_key", sc[2], zp[2]), k}, graph.IntAttr("axis", 1))
	b.Output(b.qdqNode(cat, sc[2], zp[2]))
}

// TestInt8CacheConcat runs key/value cache appends spelled as torch exports
// them against the same int8 session with every tensor tapped (nothing
// fused), at 1 and 2 threads, on random sizes, scales and zero points
// (property test: the fused Concat equals the steps bit for bit), checks
// that no absorbed step is left, and that the fused step's fallback (the
// absorbed steps one by one) gives its outputs.
func TestInt8CacheConcat(t *testing.T) {
	type dims struct{ b, h, d, p int }
	cases := []struct {
		name  string
		build func(b *mb, dm dims, sc []float32, zp []int8)
		feeds func(rng *rand.Rand, dm dims) map[string]*graph.Tensor
		fused int  // cacheConcat steps
		left  int  // Quantize and Dequantize steps left (the projection folds the last one)
		attn  bool // with the attention (which keeps a large kᵀ's Relayout)
	}{
		{name: "decoder step with attention", fused: 2, left: 1, attn: true,
			build: func(b *mb, dm dims, sc []float32, zp []int8) { kvStep(b, dm.b, dm.h, dm.d, dm.p, sc, zp, true, false) }},
		{name: "decoder step, caches only", fused: 2, left: 1,
			build: func(b *mb, dm dims, sc []float32, zp []int8) { kvStep(b, dm.b, dm.h, dm.d, dm.p, sc, zp, false, false) }},
		{name: "decoder step, one scale", fused: 2, left: 1, attn: true,
			build: func(b *mb, dm dims, sc []float32, zp []int8) { kvStep(b, dm.b, dm.h, dm.d, dm.p, sc, zp, true, true) }},
		{name: "tokens-major cache", fused: 1, left: 1,
			build: func(b *mb, dm dims, sc []float32, zp []int8) { tokensCache(b, dm.b, dm.h*dm.d, dm.p, sc, zp) },
			feeds: func(rng *rand.Rand, dm dims) map[string]*graph.Tensor {
				return map[string]*graph.Tensor{
					"x":        randInput(rng, []int{dm.b, 1, dm.h * dm.d}, -2, 2),
					"past_key": randInput(rng, []int{dm.b, dm.p, dm.h * dm.d}, -2, 2),
				}
			}},
	}
	for _, tc := range cases {
		for seed := int64(0); seed < 5; seed++ {
			rng := rand.New(rand.NewSource(seed + 900))
			dm := dims{b: 1 + rng.Intn(2), h: 1 + rng.Intn(4), d: 1 + rng.Intn(20), p: 1 + rng.Intn(30)}
			if seed == 4 {
				dm = dims{b: 1, h: 8, d: 64, p: 600} // the copies spread over the threads
			}
			sc := make([]float32, 6)
			zp := make([]int8, 6)
			for i := range sc {
				sc[i] = (0.5 + rng.Float32()) * 3 / 127
				zp[i] = int8(rng.Intn(41) - 20)
			}
			t.Run(fmt.Sprintf("%s/%d", tc.name, seed), func(t *testing.T) {
				b := newMB(70 + seed)
				tc.build(b, dm, sc, zp)
				m := b.Model()
				in := map[string]*graph.Tensor{
					"x":          randInput(rng, []int{dm.b, 1, dm.h * dm.d}, -2, 2),
					"past_key":   randInput(rng, []int{dm.b, dm.h, dm.p, dm.d}, -2, 2),
					"past_value": randInput(rng, []int{dm.b, dm.h, dm.p, dm.d}, -2, 2),
				}
				if tc.feeds != nil {
					in = tc.feeds(rng, dm)
				}
				ref, err := NewSession(m, WithMode(ModeInt8), WithAllTaps(), WithThreads(1))
				require.NoError(t, err)
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				for _, th := range []int{1, 2} {
					s, err := NewSession(m, WithMode(ModeInt8), WithThreads(th))
					require.NoError(t, err)
					fused, left := 0, 0
					for _, st := range s.steps {
						switch st.kernel.(type) {
						case *cacheConcatKernel:
							fused++
						case *quantizeKernel, *dequantizeKernel:
							left++
						}
						switch st.node.OpType {
						case "Slice", "Split", "Relayout", "QLUT", "Transpose", "Reshape":
							if !tc.attn || seed < 4 {
								t.Errorf("step %s %T left", st.node.OpType, st.kernel)
							}
						}
					}
					require.Equal(t, tc.fused, fused, "fused Concats")
					require.Equal(t, tc.left, left, "Quantize and Dequantize steps")
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range m.Graph.Outputs {
						require.Equal(t, want[o.Name].Shape, got[o.Name].Shape, "%s, %d threads", o.Name, th)
						require.Equal(t, want[o.Name].Data, got[o.Name].Data, "%s, %d threads", o.Name, th)
					}
					// The fallback: the absorbed steps one by one on the
					// fused step's inputs (graph inputs or tapped values).
					for _, st := range s.steps {
						k, ok := st.kernel.(*cacheConcatKernel)
						if !ok {
							continue
						}
						args := make([]*graph.Tensor, len(st.in))
						for a, id := range st.in {
							n := s.nameOf(id)
							if args[a] = in[n]; args[a] == nil {
								args[a] = want[n]
							}
							require.NotNil(t, args[a], "input %s", n)
						}
						ctx := &ExecContext{Threads: th}
						f, err := k.Run(ctx, args)
						require.NoError(t, err)
						u, err := k.runUnfused(&ExecContext{Threads: th}, args)
						require.NoError(t, err)
						require.Len(t, u, len(f))
						for o := range f {
							require.Equal(t, u[o].Shape, f[o].Shape)
							require.Equal(t, u[o].Data, f[o].Data)
						}
						// A longer past (other shapes) runs the steps one by
						// one: one more token in the outputs.
						if p := k.parts[0]; p.quant {
							x := args[p.arg]
							ax := len(x.Shape) - 2
							sh := append([]int{}, x.Shape...)
							sh[ax]++
							long := randInput(rng, sh, -2, 2)
							r, err := k.Run(ctx, replaceArg(args, p.arg, long))
							require.NoError(t, err)
							require.Equal(t, f[0].Shape[ax]+1, r[0].Shape[ax])
							u, err := k.runUnfused(ctx, replaceArg(args, p.arg, long))
							require.NoError(t, err)
							require.Equal(t, u[0].Data, r[0].Data)
						}
					}
				}
			})
		}
	}
}

func replaceArg(args []*graph.Tensor, a int, x *graph.Tensor) []*graph.Tensor {
	r := append([]*graph.Tensor{}, args...)
	r[a] = x
	return r
}
