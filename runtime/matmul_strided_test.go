package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// TestMatMulTransposes runs attention-style products whose operands and
// result go through Transposes (kᵀ as a swap of the last two axes; heads
// moved in front of the tokens and back, as torch.onnx writes
// multi-head attention) against the operators run one by one, at 1 and 2
// threads: same outputs, the expected Transposes absorbed, one that another
// step reads kept, and a Transpose that moves a matrix's contiguous axis into
// the batch left alone.
func TestMatMulTransposes(t *testing.T) {
	perm := func(v ...int) *graph.Attr { return graph.IntsAttr("perm", v) }
	cases := []struct {
		name       string
		x          []int
		build      func(b *mb) // input "x"
		transposes int         // Transpose steps left
		scales     int         // Mul and Div steps left
	}{
		{name: "swin: kᵀ by the last two axes", x: []int{4, 3, 7, 8}, transposes: 0, scales: 0, build: func(b *mb) {
			q := b.Node("Mul", []string{"x", b.Init("s", graph.ScalarFloat32(0.5))})
			k := b.Node("Relu", []string{"x"})
			s := b.Node("MatMul", []string{q, b.Node("Transpose", []string{k}, perm(0, 1, 3, 2))})
			o := b.Node("MatMul", []string{b.Node("Softmax", []string{s}, graph.IntAttr("axis", -1)), k})
			b.Output(b.Node("Transpose", []string{o}, perm(0, 2, 1, 3)))
		}},
		{name: "vit: heads in front of tokens", x: []int{9, 4, 6}, transposes: 0, build: func(b *mb) {
			q := b.Node("Transpose", []string{"x"}, perm(1, 0, 2))
			k := b.Node("Transpose", []string{b.Node("Relu", []string{"x"})}, perm(1, 2, 0))
			s := b.Node("Softmax", []string{b.Node("MatMul", []string{q, k})}, graph.IntAttr("axis", -1))
			v := b.Node("Transpose", []string{b.Node("Sigmoid", []string{"x"})}, perm(1, 0, 2))
			o := b.Node("Transpose", []string{b.Node("MatMul", []string{s, v})}, perm(1, 0, 2))
			b.Output(b.Node("Reshape", []string{o, b.Init("shape", &graph.Tensor{DType: graph.Int64, Shape: []int{2}, Data: []int64{9, 24}})}))
		}},
		// torch.onnx's MultiheadAttention (ViT): q = Transpose(...) / √d
		// before q·kᵀ; the Div folds into alpha and q's Transpose is read
		// in place.
		{name: "vit: q divided after its transpose", x: []int{13, 4, 64}, transposes: 0, scales: 0, build: func(b *mb) {
			q := b.Node("Div", []string{b.Node("Transpose", []string{"x"}, perm(1, 0, 2)), b.Init("d", graph.ScalarFloat32(8))})
			k := b.Node("Transpose", []string{b.Node("Relu", []string{"x"})}, perm(1, 2, 0))
			s := b.Node("Softmax", []string{b.Node("MatMul", []string{q, k})}, graph.IntAttr("axis", -1))
			v := b.Node("Transpose", []string{b.Node("Sigmoid", []string{"x"})}, perm(1, 0, 2))
			b.Output(b.Node("Transpose", []string{b.Node("MatMul", []string{s, v})}, perm(1, 0, 2)))
		}},
		// BERT-style exports: scores = q·kᵀ / √d (not a power of two), then
		// the mask Add and Softmax; and a Mul by a constant on the left of kᵀ.
		{name: "bert: scores divided after the product", x: []int{1, 11, 2, 24}, transposes: 0, scales: 0, build: func(b *mb) {
			q := b.Node("Transpose", []string{"x"}, perm(0, 2, 1, 3))
			kt := b.Node("Mul", []string{b.Init("s", graph.ScalarFloat32(0.75)), b.Node("Transpose", []string{b.Node("Tanh", []string{"x"})}, perm(0, 2, 3, 1))})
			sc := b.Node("Div", []string{b.Node("MatMul", []string{q, kt}), b.Init("d", graph.ScalarFloat32(4.898979))})
			p := b.Node("Softmax", []string{b.Node("Add", []string{sc, b.Init("mask", graph.ScalarFloat32(-1))})}, graph.IntAttr("axis", -1))
			v := b.Node("Transpose", []string{"x"}, perm(0, 2, 1, 3))
			b.Output(b.Node("Transpose", []string{b.Node("MatMul", []string{p, v})}, perm(0, 2, 1, 3)))
		}},
		// Not folded: a constant divided by q, a per-column scale, and a
		// scaled q that another step reads.
		{name: "scalings that do not fold", x: []int{3, 5, 8}, transposes: 3, scales: 3, build: func(b *mb) {
			q := b.Node("Transpose", []string{"x"}, perm(1, 0, 2))  // [5, 3, 8]
			kt := b.Node("Transpose", []string{"x"}, perm(1, 2, 0)) // [5, 8, 3]
			b.Output(b.Node("MatMul", []string{b.Node("Div", []string{b.Init("one", graph.ScalarFloat32(1)), q}), kt}))
			col := &graph.Tensor{DType: graph.Float32, Shape: []int{5}, Data: []float32{1, 2, 3, 4, 5}}
			b.Output(b.Node("MatMul", []string{"x", b.Node("Mul", []string{b.Node("Transpose", []string{"x"}, perm(0, 2, 1)), b.Init("col", col)})}))
			shared := b.Node("Mul", []string{q, b.Init("h", graph.ScalarFloat32(0.5))})
			b.Output(b.Node("MatMul", []string{shared, kt}), shared)
		}},
		// Informer's ProbSparse attention: one query row (here two) by its
		// sampled keys, kᵀ through a Transpose; more than 16 keys and a
		// reduction of 19 (kernels.SmallGemmTF32's groups and tails).
		{name: "informer: a few query rows by keys stored transposed", x: []int{2, 3, 20, 19}, transposes: 0, scales: 0, build: func(b *mb) {
			idx := &graph.Tensor{DType: graph.Int64, Shape: []int{2}, Data: []int64{0, 7}}
			q := b.Node("Mul", []string{b.Node("Gather", []string{"x", b.Init("idx", idx)}, graph.IntAttr("axis", 2)), b.Init("s", graph.ScalarFloat32(0.25))})
			k := b.Node("Transpose", []string{b.Node("Relu", []string{"x"})}, perm(0, 1, 3, 2))
			b.Output(b.Node("MatMul", []string{q, k}))
		}},
		{name: "shared transpose stays, contiguous axis into the batch", x: []int{5, 6, 7}, transposes: 2, scales: 0, build: func(b *mb) {
			kt := b.Node("Transpose", []string{"x"}, perm(0, 2, 1))
			s := b.Node("MatMul", []string{"x", kt})
			b.Output(s, b.Node("Relu", []string{kt}))
			y := b.Node("Transpose", []string{"x"}, perm(2, 1, 0)) // [7, 6, 5]
			b.Output(b.Node("MatMul", []string{y, b.Node("Transpose", []string{y}, perm(0, 2, 1))}))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(31)
			b.Input("x", staticDims(tc.x...)...)
			tc.build(b)
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(4)), tc.x, -2, 2)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				transposes, strided, scales := 0, 0, 0
				for _, st := range s.steps {
					if isOp(st.node, "Transpose") {
						transposes++
					}
					if _, ok := st.kernel.(KernelFunc); ok && (isOp(st.node, "Mul") || isOp(st.node, "Div")) {
						scales++
					}
					switch st.kernel.(type) {
					case *stridedMatMulKernel:
						strided++
					case *attentionKernel: // its two products (fuse_attention.go)
						strided += 2
					}
				}
				require.Equal(t, tc.transposes, transposes)
				require.Equal(t, tc.scales, scales)
				require.NotZero(t, strided)
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for _, o := range m.Graph.Outputs {
					require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), o.Name)
				}
			}
		})
	}
}

// TestEinsumProduct: the Einsum equations read as batched products, with B
// stored transposed or not, and those that are not products.
func TestEinsumProduct(t *testing.T) {
	cases := []struct {
		eq     string
		r      int
		bT, ok bool
	}{
		{"B G H I D, B G H J D -> B G H I J", 5, true, true},
		{"B G H I J, B G H J D -> B G H I D", 5, false, true},
		{"bhid,bhjd->bhij", 4, true, true},
		{"bij,bjk->bik", 3, false, true},
		{"...id,...jd->...ij", 4, true, true},
		{"bid,bjd->bji", 3, false, false},    // output columns swapped
		{"bid,bjd->ibj", 3, false, false},    // batch label moved
		{"bij,bjd->bi", 3, false, false},     // a summed label
		{"bii,bij->bij", 3, false, false},    // a diagonal
		{"abid,bajd->abij", 4, false, false}, // batch labels in another order
	}
	for _, tc := range cases {
		bT, ok := einsumProduct(tc.eq, tc.r)
		require.Equal(t, tc.ok, ok, tc.eq)
		if ok {
			require.Equal(t, tc.bT, bT, tc.eq)
		}
	}
}

// TestEinsumAttentionExport: the committed MaxViT-style export
// (testdata/exported/einsum_attention_opset13.onnx, made by
// scripts/sweep_models.py: Einsum q·kᵀ and p·v in [B, G, H, N, d]
// windows) fuses into one attention step on its windows input and gives
// the outputs of the operators run one by one.
func TestEinsumAttentionExport(t *testing.T) {
	m, err := graph.Load("../testdata/exported/einsum_attention_opset13.onnx")
	require.NoError(t, err)
	x, err := dataset.ReadNPY("../testdata/exported/npy_windows/batch.npy")
	require.NoError(t, err)
	m, err = m.WithInputShapes(map[string][]int{"x": x.Shape})
	require.NoError(t, err)
	in := map[string]*graph.Tensor{"x": x}
	ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	for _, th := range []int{1, 2} {
		s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
		require.NoError(t, err)
		fused := 0
		for _, st := range s.steps {
			if _, ok := st.kernel.(*attentionKernel); ok {
				fused++
			}
			_, plain := st.kernel.(KernelFunc)
			require.False(t, isOp(st.node, "Einsum") && plain, "Einsum step left")
		}
		require.Equal(t, 1, fused)
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		for _, o := range m.Graph.Outputs {
			require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), o.Name)
		}
	}
}
