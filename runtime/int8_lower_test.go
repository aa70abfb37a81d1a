package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

func batchDim() graph.Dim { return graph.Dim{Size: -1, Param: "N"} }

// cnnModel is a small CNN touching the main fused paths: Conv+Relu, MaxPool, residual
// Add+Relu, depthwise Conv, GlobalAveragePool, Flatten and Gemm.
func cnnModel(seed int64) *graph.Model {
	b := newMB(seed)
	x := b.Input("input", batchDim(), graph.Dim{Size: 3}, graph.Dim{Size: 12}, graph.Dim{Size: 12})
	c1 := b.Node("Relu", []string{b.conv(x, 3, 8, 3, 1, 1, 1, true)})
	p1 := b.Node("MaxPool", []string{c1}, graph.IntsAttr("kernel_shape", []int{2, 2}), graph.IntsAttr("strides", []int{2, 2}))
	c2 := b.conv(p1, 8, 8, 3, 1, 1, 1, true)
	a := b.Node("Relu", []string{b.Node("Add", []string{c2, p1})})
	dw := b.Node("Relu", []string{b.conv(a, 8, 8, 3, 2, 1, 8, true)})
	c3 := b.Node("Relu", []string{b.conv(dw, 8, 16, 1, 1, 0, 1, true)})
	gp := b.Node("GlobalAveragePool", []string{c3})
	fl := b.Node("Flatten", []string{gp}, graph.IntAttr("axis", 1))
	out := b.gemm(fl, 16, 10)
	b.Output(out)
	return b.Model()
}

func TestInt8LowerCNNMatchesSimulatedQuantization(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    qdqOptions
		requant string
	}{
		{name: "int8 activations", opts: qdqOptions{}},
		{name: "uint8 activations", opts: qdqOptions{uint8Acts: true}},
		{name: "per-tensor weights, fixed-point requantization", opts: qdqOptions{perTensorW: true}, requant: "fixed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(1))
			fm := cnnModel(2)
			calib := map[string]*graph.Tensor{"input": randInput(rng, []int{8, 3, 12, 12}, -1, 1)}
			qm := qdqify(t, fm, calib, tc.opts)
			in := map[string]*graph.Tensor{"input": randInput(rng, []int{4, 3, 12, 12}, -1, 1)}
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			var warns []string
			opts := []Option{WithMode(ModeInt8), WithWarnings(func(s string) { warns = append(warns, s) })}
			if tc.requant != "" {
				opts = append(opts, WithRequant(tc.requant))
			}
			s, err := NewSession(qm, opts...)
			require.NoError(t, err)
			assert.Empty(t, warns)
			for _, p := range s.Placement {
				assert.True(t, p.Int8, "%s %s runs float", p.OpType, p.Node)
			}
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			out := fm.Graph.Outputs[0].Name
			qi, ok := s.QuantInfo(out)
			_ = qi
			_ = ok
			step := float64(stepOf(t, qm, out))
			frac, mx := outputSteps(t, got[out], want[out], step)
			t.Logf("within 1 step: %.4f, max %.2f steps", frac, mx)
			assert.GreaterOrEqual(t, frac, 0.99)
			assert.LessOrEqual(t, mx, 3.0)
		})
	}
}

// stepOf returns the scale of the QuantizeLinear producing the DQ'd graph output.
func stepOf(t *testing.T, m *graph.Model, out string) float32 {
	t.Helper()
	p := m.Graph.Producers()[out]
	require.NotNil(t, p)
	require.Equal(t, "DequantizeLinear", p.OpType)
	s := m.Graph.Initializers[p.Inputs[1]]
	require.NotNil(t, s)
	return s.F32()[0]
}

// mixedModel covers the lookup-table, Softmax, LayerNormalization, MatMul,
// Transpose/Reshape and Concat paths on a transformer-like block.
func mixedModel(seed int64) (*graph.Model, map[string]bool) {
	b := newMB(seed)
	x := b.Input("x", batchDim(), graph.Dim{Size: 6}, graph.Dim{Size: 8})
	// elementwise chains become lookup tables
	sg := b.Node("Sigmoid", []string{x})
	silu := b.Node("Mul", []string{x, sg})
	hs := b.Node("HardSwish", []string{silu})
	half := b.Init("c", graph.FromFloat32(nil, []float32{0.5}))
	sqrt2 := b.Init("c", graph.FromFloat32(nil, []float32{1.4142135}))
	one := b.Init("c", graph.FromFloat32(nil, []float32{1}))
	e := b.Node("Erf", []string{b.Node("Div", []string{hs, sqrt2})})
	gelu := b.Node("Mul", []string{b.Node("Mul", []string{hs, b.Node("Add", []string{e, one})}), half})
	// MatMul with constant weights, then attention-like products of activations
	w := b.RandInit("w", []int{8, 8}, 0.5)
	h := b.Node("MatMul", []string{gelu, w})
	ht := b.Node("Transpose", []string{h}, graph.IntsAttr("perm", []int{0, 2, 1}))
	sc := b.Node("MatMul", []string{h, ht})
	sm := b.Node("Softmax", []string{sc}, graph.IntAttr("axis", -1))
	ctx := b.Node("MatMul", []string{sm, h})
	ln := b.Node("LayerNormalization", []string{ctx, b.RandInit("g", []int{8}, 1), b.RandInit("bt", []int{8}, 0.1)}, graph.IntAttr("axis", -1))
	cat := b.Node("Concat", []string{ln, gelu}, graph.IntAttr("axis", 2))
	r := b.Node("Reshape", []string{cat, b.Init("shape", graph.FromInt64([]int{2}, []int64{-1, 16}))})
	b.Output(b.Node("Relu", []string{r}))
	m := b.Model()
	m.Opsets[""] = 17
	// the elementwise chains stay in float between their quantized ends
	return m, map[string]bool{sg: true, silu: true, e: true, b.G.Nodes[3].Outputs[0]: true, b.G.Nodes[5].Outputs[0]: true, b.G.Nodes[6].Outputs[0]: true}
}

func TestInt8LowerMixedOps(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	fm, chains := mixedModel(4)
	calib := map[string]*graph.Tensor{"x": randInput(rng, []int{16, 6, 8}, -3, 3)}
	qm := qdqify(t, fm, calib, qdqOptions{float: chains})
	in := map[string]*graph.Tensor{"x": randInput(rng, []int{3, 6, 8}, -3, 3)}
	ref, err := NewSession(qm, WithMode(ModeFloat))
	require.NoError(t, err)
	var warns []string
	s, err := NewSession(qm, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
	require.NoError(t, err)
	assert.Empty(t, warns)
	ops := map[string]int{}
	for _, n := range s.Model().Graph.Nodes {
		ops[n.OpType]++
		assert.Equal(t, Int8Domain, n.Domain, "%s", n.Label())
	}
	// one table for Sigmoid·x+HardSwish, one for the GELU chain, one for the final
	// Relu and two requantizing Concat's inputs to its output parameters
	assert.Equal(t, 5, ops["QLUT"], "%v", ops)
	assert.Equal(t, 1, ops["QSoftmax"])
	assert.Equal(t, 1, ops["QLayerNorm"])
	assert.Equal(t, 2, ops["QMatMul"], "%v", ops)
	assert.Equal(t, 1, ops["QGemm"], "%v", ops)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	out := fm.Graph.Outputs[0].Name
	frac, mx := outputSteps(t, got[out], want[out], float64(stepOf(t, qm, out)))
	t.Logf("within 1 step: %.4f, max %.2f steps", frac, mx)
	assert.GreaterOrEqual(t, frac, 0.98)
	assert.LessOrEqual(t, mx, 4.0)
}

func TestInt8FallbackWarnsAndPlacesFloat(t *testing.T) {
	b := newMB(5)
	x := b.Input("x", batchDim(), graph.Dim{Size: 4}, graph.Dim{Size: 5}, graph.Dim{Size: 5})
	c := b.Node("Relu", []string{b.conv(x, 4, 4, 3, 1, 1, 1, true)})
	// The channel axis: a mean over the spatial axes, both or one, is an
	// average pool once the graph pass has run (graph/optimize/reduce_pool.go),
	// which runs int8.
	r := b.Node("ReduceMean", []string{c}, graph.IntsAttr("axes", []int{1}), graph.IntAttr("keepdims", 1))
	b.Output(b.Node("Sigmoid", []string{r}))
	fm := b.Model()
	rng := rand.New(rand.NewSource(1))
	qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, []int{4, 4, 5, 5}, -1, 1)}, qdqOptions{})
	var warns []string
	s, err := NewSession(qm, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
	require.NoError(t, err)
	require.Len(t, warns, 1, "%v", warns)
	assert.Contains(t, warns[0], "ReduceMean")
	assert.Contains(t, warns[0], "float32")
	var fl, i8 []string
	for _, p := range s.Placement {
		if p.Int8 {
			i8 = append(i8, p.OpType)
		} else {
			fl = append(fl, p.OpType)
		}
	}
	assert.Equal(t, []string{"ReduceMean"}, fl)
	assert.Contains(t, i8, "QConv")
	in := map[string]*graph.Tensor{"x": randInput(rng, []int{2, 4, 5, 5}, -1, 1)}
	ref, err := NewSession(qm, WithMode(ModeFloat))
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	out := fm.Graph.Outputs[0].Name
	frac, _ := outputSteps(t, got[out], want[out], float64(stepOf(t, qm, out)))
	assert.GreaterOrEqual(t, frac, 0.99)
}

// TestQBinaryPairTable checks that the 64K lookup table of QBinary gives the kernels
// package's arithmetic on every pair of codes, for every operator.
func TestQBinaryPairTable(t *testing.T) {
	for _, tc := range []struct {
		op                   string
		sa, sb, sy           float32
		za, zb, zy, qmin, hi int64
	}{
		{op: "Add", sa: 0.02, sb: 0.03, sy: 0.04, za: -3, zb: 10, zy: -128, qmin: -128, hi: 127},
		{op: "Add", sa: 0.5, sb: 0.5, sy: 1, qmin: -128, hi: 127},
		{op: "Sub", sa: 0.01, sb: 0.013, sy: 0.02, za: 12, zb: -7, zy: 3, qmin: -128, hi: 100},
		{op: "Mul", sa: 0.1, sb: 0.07, sy: 0.05, zb: -128, zy: 5, qmin: 5, hi: 127},
		{op: "Max", sa: 0.1, sb: 0.2, sy: 0.2, za: 1, zb: 2, zy: 3, qmin: -128, hi: 127},
	} {
		t.Run(tc.op, func(t *testing.T) {
			n := &graph.Node{OpType: "QBinary", Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
			for _, a := range []*graph.Attr{graph.StringAttr("op", tc.op), graph.FloatAttr("a_scale", tc.sa), graph.IntAttr("a_zp", tc.za), graph.FloatAttr("b_scale", tc.sb),
				graph.IntAttr("b_zp", tc.zb), graph.FloatAttr("y_scale", tc.sy), graph.IntAttr("y_zp", tc.zy), graph.IntAttr("qmin", tc.qmin), graph.IntAttr("qmax", tc.hi)} {
				n.Attrs[a.Name] = a
			}
			k, err := buildQBinary(&BuildContext{Node: n})
			require.NoError(t, err)
			qb := k.(*qbinaryKernel)
			var ref *kernels.QBinary
			switch tc.op {
			case "Add":
				ref = kernels.NewQAdd(tc.sa, int32(tc.za), tc.sb, int32(tc.zb), tc.sy, int32(tc.zy), int32(tc.qmin), int32(tc.hi))
			case "Sub":
				ref = kernels.NewQAdd(tc.sa, int32(tc.za), -tc.sb, int32(tc.zb), tc.sy, int32(tc.zy), int32(tc.qmin), int32(tc.hi))
			case "Mul":
				ref = kernels.NewQMul(tc.sa, int32(tc.za), tc.sb, int32(tc.zb), tc.sy, int32(tc.zy), int32(tc.qmin), int32(tc.hi))
			}
			a := graph.NewTensor(graph.Int8, []int{256, 256})
			b := graph.NewTensor(graph.Int8, []int{256, 256})
			for i := range a.I8() {
				a.I8()[i], b.I8()[i] = int8(i/256-128), int8(i%256-128)
			}
			got, err := qb.Run(&ExecContext{Threads: 2}, []*graph.Tensor{a, b})
			require.NoError(t, err)
			want := make([]int8, a.Len())
			if ref != nil {
				ref.Apply(a.I8(), b.I8(), want)
			} else {
				for i := range want {
					x := float32(int32(a.I8()[i])-int32(tc.za)) * tc.sa
					y := float32(int32(b.I8()[i])-int32(tc.zb)) * tc.sb
					want[i] = int8(qtensor.QuantizeRound(max(x, y), tc.sy, int32(tc.zy), int32(tc.qmin), int32(tc.hi)))
				}
			}
			require.Equal(t, want, got[0].I8())
		})
	}
}

// TestInt8ChannelsLastDataMovement checks that Pad, Concat, Slice and Resize between
// convolutions stay channels-last (no layout conversion) and compute what the float32
// executor's simulated quantization computes.
func TestInt8ChannelsLastDataMovement(t *testing.T) {
	b := newMB(21)
	x := b.Input("x", batchDim(), graph.Dim{Size: 3}, graph.Dim{Size: 8}, graph.Dim{Size: 8})
	pad := b.Node("Pad", []string{x, b.Init("pads", graph.FromInt64([]int{8}, []int64{0, 0, 1, 2, 0, 0, 2, 1}))})
	c1 := b.Node("Relu", []string{b.conv(pad, 3, 4, 3, 1, 0, 1, true)})
	c2 := b.Node("Relu", []string{b.conv(c1, 4, 4, 1, 1, 0, 1, true)})
	cat := b.Node("Concat", []string{c1, c2}, graph.IntAttr("axis", 1))
	sl := b.Node("Slice", []string{cat, b.Init("st", graph.FromInt64([]int{2}, []int64{1, 1})), b.Init("en", graph.FromInt64([]int{2}, []int64{7, 8})),
		b.Init("ax", graph.FromInt64([]int{2}, []int64{1, -1}))})
	rs := b.Node("Resize", []string{sl, "", b.Init("scales", graph.FromFloat32([]int{4}, []float32{1, 1, 2, 2}))}, graph.StringAttr("mode", "nearest"))
	mp := b.Node("MaxPool", []string{rs}, graph.IntsAttr("kernel_shape", []int{2, 2}), graph.IntsAttr("strides", []int{2, 2}))
	out := b.conv(mp, 6, 2, 3, 1, 1, 1, true)
	b.Output(out)
	fm := b.Model()
	rng := rand.New(rand.NewSource(2))
	qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, []int{4, 3, 8, 8}, -1, 1)}, qdqOptions{})
	var warns []string
	s, err := NewSession(qm, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
	require.NoError(t, err)
	assert.Empty(t, warns)
	relayouts := 0
	for _, n := range s.Model().Graph.Nodes {
		if n.OpType == "Relayout" {
			relayouts++
		}
	}
	assert.Zero(t, relayouts, "the data-movement operators must keep NHWC")
	in := map[string]*graph.Tensor{"x": randInput(rng, []int{2, 3, 8, 8}, -1, 1)}
	ref, err := NewSession(qm, WithMode(ModeFloat))
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	frac, mx := outputSteps(t, got[out], want[out], float64(stepOf(t, qm, out)))
	t.Logf("within 1 step: %.4f, max %.2f steps", frac, mx)
	assert.GreaterOrEqual(t, frac, 0.99)
}
