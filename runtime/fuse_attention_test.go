package runtime

import (
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestFuseAttention runs attention blocks spelled as torch.onnx and tf2onnx
// write them against the operators run one by one (a session with every
// tensor tapped, which fuses nothing), at 1 and 2 threads: same outputs,
// the expected number of fused attention steps and of Softmax steps left,
// and the chains that must not fuse left alone.
func TestFuseAttention(t *testing.T) {
	perm := func(v ...int) *graph.Attr { return graph.IntsAttr("perm", v) }
	axis := graph.IntAttr("axis", -1)
	shape := func(b *mb, v ...int64) string {
		return b.Init("shape", &graph.Tensor{DType: graph.Int64, Shape: []int{len(v)}, Data: v})
	}
	type input struct {
		name string
		dims []int
	}
	cases := []struct {
		name    string
		inputs  []input
		build   func(b *mb)
		fused   int // attention steps
		softmax int // Softmax steps left (plain or with a folded Add)
		twoOuts int // attention steps that also write p
	}{
		// torch.onnx's MultiheadAttention as ViT exports it: [T, heads, d]
		// → Transpose(1, 0, 2) for q and v, (1, 2, 0) for kᵀ, q / √d,
		// the product back through Transpose(1, 0, 2) and a Reshape.
		{name: "vit: torch MultiheadAttention", inputs: []input{{"x", []int{197, 4, 64}}}, fused: 1, build: func(b *mb) {
			q := b.Node("Div", []string{b.Node("Transpose", []string{"x"}, perm(1, 0, 2)), b.Init("d", graph.ScalarFloat32(8))})
			k := b.Node("Transpose", []string{b.Node("Relu", []string{"x"})}, perm(1, 2, 0))
			p := b.Node("Softmax", []string{b.Node("MatMul", []string{q, k})}, axis)
			v := b.Node("Transpose", []string{b.Node("Sigmoid", []string{"x"})}, perm(1, 0, 2))
			o := b.Node("Transpose", []string{b.Node("MatMul", []string{p, v})}, perm(1, 0, 2))
			b.Output(b.Node("Reshape", []string{o, shape(b, 197, 256)}))
		}},
		// torch 1.13's MultiheadAttention with a key padding mask (the
		// encoder_mask export): baddbmm as Add(Mul(q·kᵀ, 1), Mul(mask, 1)),
		// the mask [heads, 1, S] broadcast over the query rows.
		{name: "encoder: baddbmm with a padding mask", inputs: []input{{"x", []int{13, 2, 16}}, {"mask", []int{2, 1, 13}}}, fused: 1, build: func(b *mb) {
			q := b.Node("Div", []string{b.Node("Transpose", []string{"x"}, perm(1, 0, 2)), b.Init("d", graph.ScalarFloat32(4))})
			k := b.Node("Transpose", []string{b.Node("Tanh", []string{"x"})}, perm(1, 2, 0))
			sc := b.Node("Mul", []string{b.Node("MatMul", []string{q, k}), b.Init("one", graph.ScalarFloat32(1))})
			m := b.Node("Mul", []string{b.Node("Neg", []string{b.Node("Relu", []string{"mask"})}), b.Init("beta", graph.ScalarFloat32(1))})
			p := b.Node("Softmax", []string{b.Node("Add", []string{sc, m})}, axis)
			v := b.Node("Transpose", []string{"x"}, perm(1, 0, 2))
			b.Output(b.Node("Transpose", []string{b.Node("MatMul", []string{p, v})}, perm(1, 0, 2)))
		}},
		// BERT through tf2onnx / transformers: [B, T, H, d] → (0, 2, 1, 3)
		// for q and v, (0, 2, 3, 1) for kᵀ, scores · 1/√d, the extended
		// mask (1 − m) · −10000 of shape [B, 1, 1, T] added.
		{name: "bert: 4-D heads, scores scaled, extended mask", inputs: []input{{"x", []int{2, 11, 3, 8}}, {"m", []int{2, 1, 1, 11}}}, fused: 1, build: func(b *mb) {
			q := b.Node("Transpose", []string{"x"}, perm(0, 2, 1, 3))
			k := b.Node("Transpose", []string{b.Node("Sin", []string{"x"})}, perm(0, 2, 3, 1))
			sc := b.Node("Mul", []string{b.Node("MatMul", []string{q, k}), b.Init("s", graph.ScalarFloat32(0.35355339))})
			ext := b.Node("Mul", []string{b.Node("Sub", []string{b.Init("one", graph.ScalarFloat32(1)), "m"}), b.Init("big", graph.ScalarFloat32(-10000))})
			p := b.Node("Softmax", []string{b.Node("Add", []string{sc, ext})}, axis)
			v := b.Node("Transpose", []string{b.Node("Cos", []string{"x"})}, perm(0, 2, 1, 3))
			o := b.Node("Transpose", []string{b.Node("MatMul", []string{p, v})}, perm(0, 2, 1, 3))
			b.Output(b.Node("Reshape", []string{o, shape(b, 2, 11, 24)}))
		}},
		// BERT as torch.onnx writes Hugging Face's: scores / √d (not a power
		// of two), the mask on the left of the Add.
		{name: "bert: scores divided, mask first", inputs: []input{{"x", []int{1, 7, 2, 24}}, {"m", []int{1, 1, 1, 7}}}, fused: 1, build: func(b *mb) {
			q := b.Node("Transpose", []string{"x"}, perm(0, 2, 1, 3))
			k := b.Node("Transpose", []string{b.Node("Sin", []string{"x"})}, perm(0, 2, 3, 1))
			sc := b.Node("Div", []string{b.Node("MatMul", []string{q, k}), b.Init("d", graph.ScalarFloat32(4.898979))})
			p := b.Node("Softmax", []string{b.Node("Add", []string{"m", sc})}, axis)
			v := b.Node("Transpose", []string{"x"}, perm(0, 2, 1, 3))
			b.Output(b.Node("Transpose", []string{b.Node("MatMul", []string{p, v})}, perm(0, 2, 1, 3)))
		}},
		// Swin's window attention: q · scale, kᵀ as a swap of the last two
		// axes, a relative position bias [H, N, N] (a constant) added.
		{name: "swin: window attention with a position bias", inputs: []input{{"x", []int{4, 3, 49, 32}}}, fused: 1, build: func(b *mb) {
			q := b.Node("Mul", []string{"x", b.Init("s", graph.ScalarFloat32(0.17677669))})
			k := b.Node("Transpose", []string{b.Node("Relu", []string{"x"})}, perm(0, 1, 3, 2))
			bias := b.RandInit("rpb", []int{3, 49, 49}, 2)
			p := b.Node("Softmax", []string{b.Node("Add", []string{b.Node("MatMul", []string{q, k}), bias})}, axis)
			b.Output(b.Node("Transpose", []string{b.Node("MatMul", []string{p, b.Node("Sigmoid", []string{"x"})})}, perm(0, 2, 1, 3)))
		}},
		// Swin's shifted windows: the position bias, then the window mask
		// added to the scores viewed as [B, nW, H, N, N].
		{name: "swin: shifted windows, position bias and mask", inputs: []input{{"x", []int{4, 3, 16, 8}}}, fused: 1, build: func(b *mb) {
			q := b.Node("Mul", []string{"x", b.Init("s", graph.ScalarFloat32(0.35355339))})
			k := b.Node("Transpose", []string{b.Node("Relu", []string{"x"})}, perm(0, 1, 3, 2))
			sc := b.Node("Add", []string{b.Node("MatMul", []string{q, k}), b.RandInit("rpb", []int{3, 16, 16}, 2)})
			w := b.Node("Add", []string{b.Node("Reshape", []string{sc, shape(b, 2, 2, 3, 16, 16)}), b.RandInit("mask", []int{2, 1, 16, 16}, 60)})
			p := b.Node("Softmax", []string{b.Node("Reshape", []string{w, shape(b, -1, 3, 16, 16)})}, axis)
			b.Output(b.Node("Transpose", []string{b.Node("MatMul", []string{p, b.Node("Sigmoid", []string{"x"})})}, perm(0, 2, 1, 3)))
		}},
		// Plain products: kᵀ given, nothing to absorb; one head, rank 2.
		{name: "plain batched products and one rank-2 head", inputs: []input{{"q", []int{3, 10, 8}}, {"kt", []int{3, 8, 10}}, {"v", []int{3, 10, 5}}}, fused: 2, build: func(b *mb) {
			p := b.Node("Softmax", []string{b.Node("MatMul", []string{"q", "kt"})}, axis)
			b.Output(b.Node("MatMul", []string{p, "v"}))
			q2 := b.Node("Reshape", []string{"q", shape(b, 30, 8)})
			p2 := b.Node("Softmax", []string{b.Node("MatMul", []string{q2, b.Node("Transpose", []string{q2}, perm(1, 0))})}, axis)
			b.Output(b.Node("MatMul", []string{p2, q2}))
		}},
		// need_weights: torch's MultiheadAttention also returns p averaged
		// over the heads; p is a second output of the fused step.
		{name: "p also averaged over the heads", inputs: []input{{"x", []int{9, 2, 16}}}, fused: 1, twoOuts: 1, build: func(b *mb) {
			q := b.Node("Div", []string{b.Node("Transpose", []string{"x"}, perm(1, 0, 2)), b.Init("d", graph.ScalarFloat32(4))})
			k := b.Node("Transpose", []string{b.Node("Relu", []string{"x"})}, perm(1, 2, 0))
			p := b.Node("Softmax", []string{b.Node("MatMul", []string{q, k})}, axis)
			w := b.Node("ReduceMean", []string{b.Node("Reshape", []string{p, shape(b, 1, 2, 9, 9)})}, graph.IntsAttr("axes", []int{1}), graph.IntAttr("keepdims", 0))
			v := b.Node("Transpose", []string{"x"}, perm(1, 0, 2))
			b.Output(w, b.Node("Transpose", []string{b.Node("MatMul", []string{p, v})}, perm(1, 0, 2)))
		}},
		// p a graph output as well.
		{name: "p a graph output", inputs: []input{{"q", []int{2, 5, 4}}, {"kt", []int{2, 4, 5}}}, fused: 1, twoOuts: 1, build: func(b *mb) {
			p := b.Node("Softmax", []string{b.Node("MatMul", []string{"q", "kt"})}, axis)
			b.Output(b.Node("MatMul", []string{p, "q"}), p)
		}},
		// Masks written as Where (sixteenth session). A GPT-style causal
		// block as torch.onnx writes masked_fill: Where(causal, −inf,
		// scores · c), q and v (0, 2, 1, 3), kᵀ (0, 2, 3, 1).
		{name: "gpt: masked_fill with a causal mask", inputs: []input{{"x", []int{1, 9, 2, 16}}}, fused: 1, build: func(b *mb) {
			q := b.Node("Transpose", []string{"x"}, perm(0, 2, 1, 3))
			k := b.Node("Transpose", []string{b.Node("Sin", []string{"x"})}, perm(0, 2, 3, 1))
			sc := b.Node("Mul", []string{b.Node("MatMul", []string{q, k}), b.Init("s", graph.ScalarFloat32(0.25))})
			p := b.Node("Softmax", []string{b.Node("Where", []string{causalInit(b, 9, true, 9, 9), b.Init("ninf", graph.ScalarFloat32(float32(math.Inf(-1)))), sc})}, axis)
			v := b.Node("Transpose", []string{b.Node("Cos", []string{"x"})}, perm(0, 2, 1, 3))
			b.Output(b.Node("Transpose", []string{b.Node("MatMul", []string{p, v})}, perm(0, 2, 1, 3)))
		}},
		// Hugging Face's GPT-2 with a past: 4 cached keys, 6 new queries;
		// torch.where(causal, scores / √d, finfo.min), then the padding
		// mask (1 − m) · finfo.min of an input m [B, 1, 1, S] added.
		{name: "gpt2: Where(causal, scores, finfo.min), then the padding mask", inputs: []input{{"x", []int{2, 6, 3, 8}}, {"kv", []int{2, 3, 10, 8}}, {"m", []int{2, 1, 1, 10}}}, fused: 1, build: func(b *mb) {
			q := b.Node("Transpose", []string{"x"}, perm(0, 2, 1, 3))
			k := b.Node("Transpose", []string{"kv"}, perm(0, 1, 3, 2))
			sc := b.Node("Div", []string{b.Node("MatMul", []string{q, k}), b.Init("d", graph.ScalarFloat32(2.828427))})
			w := b.Node("Where", []string{causalInit(b, 10, false, 1, 1, 6, 10), sc, b.Init("min", graph.ScalarFloat32(-math.MaxFloat32))})
			pad := b.Node("Mul", []string{b.Node("Sub", []string{b.Init("one", graph.ScalarFloat32(1)), b.Node("Sign", []string{b.Node("Relu", []string{"m"})})}), b.Init("min", graph.ScalarFloat32(-math.MaxFloat32))})
			p := b.Node("Softmax", []string{b.Node("Add", []string{w, pad})}, axis)
			o := b.Node("Transpose", []string{b.Node("MatMul", []string{p, b.Node("Tanh", []string{"kv"})})}, perm(0, 2, 1, 3))
			b.Output(b.Node("Reshape", []string{o, shape(b, 2, 6, 24)}))
		}},
		// Llama with a static cache: the condition comes from an input
		// (key positions past the current one), Where(cond, finfo.min,
		// scores); a position before the first key masks whole rows.
		{name: "llama: a condition computed from an input", inputs: []input{{"x", []int{1, 2, 5, 16}}, {"cache", []int{1, 2, 12, 16}}, {"pos", []int{1}}}, fused: 1, build: func(b *mb) {
			keys := make([]float32, 12)
			for j := range keys {
				keys[j] = float32(j) - 1
			}
			cond := b.Node("Greater", []string{b.Init("keys", &graph.Tensor{DType: graph.Float32, Shape: []int{12}, Data: keys}), b.Node("Mul", []string{"pos", b.Init("c", graph.ScalarFloat32(6))})})
			k := b.Node("Transpose", []string{"cache"}, perm(0, 1, 3, 2))
			sc := b.Node("Div", []string{b.Node("MatMul", []string{"x", k}), b.Init("d", graph.ScalarFloat32(4))})
			p := b.Node("Softmax", []string{b.Node("Where", []string{cond, b.Init("min", graph.ScalarFloat32(-math.MaxFloat32)), sc})}, axis)
			b.Output(b.Node("MatMul", []string{p, "cache"}))
		}},
		// Attention through Einsum (sixteenth session): MaxViT's
		// "B G H I D, B G H J D -> B G H I J" on q and k read through
		// Transposes (0, 1, 3, 2, 4), k scaled, a position bias added,
		// p·v by Einsum too and its output through a Transpose.
		{name: "maxvit: Einsum products", inputs: []input{{"x", []int{1, 4, 9, 2, 8}}}, fused: 1, build: func(b *mb) {
			q := b.Node("Transpose", []string{"x"}, perm(0, 1, 3, 2, 4))
			k := b.Node("Mul", []string{b.Node("Transpose", []string{b.Node("Sin", []string{"x"})}, perm(0, 1, 3, 2, 4)), b.Init("s", graph.ScalarFloat32(0.35355339))})
			sc := b.Node("Einsum", []string{q, k}, graph.StringAttr("equation", "B G H I D, B G H J D -> B G H I J"))
			p := b.Node("Softmax", []string{b.Node("Add", []string{sc, b.RandInit("rpb", []int{2, 9, 9}, 2)})}, axis)
			v := b.Node("Transpose", []string{b.Node("Cos", []string{"x"})}, perm(0, 1, 3, 2, 4))
			o := b.Node("Einsum", []string{p, v}, graph.StringAttr("equation", "B G H I J, B G H J D -> B G H I D"))
			b.Output(b.Node("Transpose", []string{o}, perm(0, 1, 3, 2, 4)))
		}},
		// torch.einsum("bhid,bhjd->bhij") with a masked_fill, and p·v as
		// "bhij,bhjd->bhid"; one head's products as plain Einsums.
		{name: "einsum: bhid,bhjd->bhij with a mask", inputs: []input{{"q", []int{2, 3, 7, 8}}, {"kv", []int{2, 3, 7, 8}}}, fused: 1, build: func(b *mb) {
			sc := b.Node("Einsum", []string{"q", b.Node("Relu", []string{"kv"})}, graph.StringAttr("equation", "bhid,bhjd->bhij"))
			p := b.Node("Softmax", []string{b.Node("Where", []string{causalInit(b, 7, true, 7, 7), b.Init("ninf", graph.ScalarFloat32(float32(math.Inf(-1)))), sc})}, axis)
			b.Output(b.Node("Einsum", []string{p, "kv"}, graph.StringAttr("equation", "bhij,bhjd->bhid")))
		}},
		// Einsums that are not plain products stay (a batch label moved,
		// a summed label): nothing fuses.
		{name: "Einsums that are not products", inputs: []input{{"q", []int{2, 5, 4}}, {"kt", []int{2, 4, 5}}}, fused: 0, softmax: 2, build: func(b *mb) {
			s1 := b.Node("Einsum", []string{"q", "q"}, graph.StringAttr("equation", "bid,bjd->ibj"))
			b.Output(b.Node("Softmax", []string{s1}, axis))
			s2 := b.Node("Einsum", []string{"q", "kt"}, graph.StringAttr("equation", "bid,bdj->bij"))
			b.Output(b.Node("Einsum", []string{b.Node("Softmax", []string{s2}, axis), "q"}, graph.StringAttr("equation", "bij,bjd->bi")))
		}},
		// A Where that does not fold (its constant varies): nothing fuses.
		{name: "Where with a constant that varies", inputs: []input{{"q", []int{2, 6, 6}}, {"kt", []int{2, 6, 6}}}, fused: 0, softmax: 1, build: func(b *mb) {
			s := b.Node("MatMul", []string{"q", "kt"})
			p := b.Node("Softmax", []string{b.Node("Where", []string{causalInit(b, 6, true, 6, 6), b.RandInit("fill", []int{6}, 3), s})}, axis)
			b.Output(b.Node("MatMul", []string{p, "q"}))
		}},
		// Not fused: LogSoftmax, Softmax over another axis, p as the right
		// operand, scores that another step reads, q read transposed.
		{name: "chains that must not fuse", inputs: []input{{"q", []int{2, 6, 6}}, {"kt", []int{2, 6, 6}}}, fused: 0, softmax: 5, build: func(b *mb) {
			s := b.Node("MatMul", []string{"q", "kt"})
			b.Output(b.Node("MatMul", []string{b.Node("LogSoftmax", []string{s}, axis), "q"}))
			s2 := b.Node("MatMul", []string{"kt", "q"})
			b.Output(b.Node("MatMul", []string{b.Node("Softmax", []string{s2}, graph.IntAttr("axis", 1)), "q"}))
			s3 := b.Node("MatMul", []string{"q", "q"})
			b.Output(b.Node("MatMul", []string{"kt", b.Node("Softmax", []string{s3}, axis)}))
			s4 := b.Node("MatMul", []string{b.Node("Sin", []string{"q"}), "kt"})
			b.Output(b.Node("MatMul", []string{b.Node("Softmax", []string{s4}, axis), "kt"}), s4)
			qt := b.Node("Transpose", []string{b.Node("Cos", []string{"q"})}, perm(0, 2, 1))
			s5 := b.Node("MatMul", []string{qt, "kt"})
			b.Output(b.Node("MatMul", []string{b.Node("Softmax", []string{s5}, axis), "kt"}))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(31)
			in := map[string]*graph.Tensor{}
			rng := rand.New(rand.NewSource(4))
			for _, x := range tc.inputs {
				b.Input(x.name, staticDims(x.dims...)...)
				in[x.name] = randInput(rng, x.dims, -2, 2)
			}
			tc.build(b)
			m := b.Model()
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				fused, softmax, twoOuts := 0, 0, 0
				for _, st := range s.steps {
					switch k := st.kernel.(type) {
					case *attentionKernel:
						fused++
						if k.withP {
							twoOuts++
						}
					case softmaxKernel, *softmaxAddKernel:
						softmax++
					}
				}
				require.Equal(t, tc.fused, fused, "attention steps")
				require.Equal(t, tc.softmax, softmax, "Softmax steps")
				require.Equal(t, tc.twoOuts, twoOuts, "attention steps writing p")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for _, o := range m.Graph.Outputs {
					require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), o.Name)
				}
			}
		})
	}
}

// TestFuseAttentionOtherShapes feeds a fused step inputs of shapes other
// than those it was planned for (a caller driving the kernel directly, or a
// plan reused for a shorter sequence): it runs the absorbed steps one by
// one, with the same results as a session planned for those shapes.
func TestFuseAttentionOtherShapes(t *testing.T) {
	perm := func(v ...int) *graph.Attr { return graph.IntsAttr("perm", v) }
	build := func(tokens int) *graph.Model {
		b := newMB(5)
		b.Input("x", staticDims(tokens, 2, 8)...)
		b.Input("mask", staticDims(2, 1, tokens)...)
		q := b.Node("Div", []string{b.Node("Transpose", []string{"x"}, perm(1, 0, 2)), b.Init("d", graph.ScalarFloat32(2.828427))})
		k := b.Node("Transpose", []string{b.Node("Relu", []string{"x"})}, perm(1, 2, 0))
		p := b.Node("Softmax", []string{b.Node("Add", []string{b.Node("MatMul", []string{q, k}), "mask"})}, graph.IntAttr("axis", -1))
		v := b.Node("Transpose", []string{"x"}, perm(1, 0, 2))
		b.Output(b.Node("Transpose", []string{b.Node("MatMul", []string{p, v})}, perm(1, 0, 2)))
		return b.Model()
	}
	s, err := NewSession(build(12), WithMode(ModeFloat))
	require.NoError(t, err)
	var fused *step
	for i := range s.steps {
		if _, ok := s.steps[i].kernel.(*attentionKernel); ok {
			fused = &s.steps[i]
		}
	}
	require.NotNil(t, fused)
	other := build(7)
	rng := rand.New(rand.NewSource(9))
	x, mask := randInput(rng, []int{7, 2, 8}, -2, 2), randInput(rng, []int{2, 1, 7}, -3, 0)
	ref, err := NewSession(other, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(map[string]*graph.Tensor{"x": x, "mask": mask})
	require.NoError(t, err)
	// The fused step's inputs: q's, k's and v's sources (x, Relu(x), x),
	// then the mask.
	taps, err := ref.RunTensors(map[string]*graph.Tensor{"x": x, "mask": mask})
	require.NoError(t, err)
	var relu *graph.Tensor
	for _, n := range other.Graph.Nodes {
		if n.OpType == "Relu" {
			relu = taps[n.Outputs[0]]
		}
	}
	require.NotNil(t, relu)
	names := []string{"x", "", "x", "mask"}
	for i, id := range fused.in {
		if names[i] != "" {
			require.Equal(t, names[i], s.nameOf(id), "input %d", i)
		}
	}
	in := []*graph.Tensor{x, relu, x, mask}
	ctx := &ExecContext{Threads: 1}
	got, err := fused.kernel.Run(ctx, in)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.True(t, slices.Equal([]int{7, 2, 8}, got[0].Shape), "%v", got[0].Shape)
	require.NoError(t, CompareTensors(got[0], want[other.Graph.Outputs[0].Name], gemmTol))
}
