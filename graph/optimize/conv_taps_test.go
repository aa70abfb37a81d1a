package optimize_test

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
	"github.com/warboy-sim/warboy/runtime"
)

// asppModel is x [1, 6, h, w] -> Conv(3x3 or kh×kw, dilation d, pads p) -> Relu,
// as torch.onnx writes one branch of DeepLabV3's ASPP: the weight reaches the
// Conv through an Identity, the bias is an initializer.
func asppModel(rng *rand.Rand, h, w, kh, kw int, attrs ...*graph.Attr) *graph.Model {
	g := &graph.Graph{
		Name: "aspp",
		Nodes: []*graph.Node{
			node("Identity", []string{"w0"}, []string{"w"}),
			node("Conv", []string{"x", "w", "b"}, []string{"c"}, attrs...),
			node("Relu", []string{"c"}, []string{"y"}),
		},
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(1, 6, h, w), HasShape: true}},
		Outputs:      []*graph.Value{{Name: "y", DType: graph.Float32}},
		Initializers: map[string]*graph.Tensor{"w0": randF32(rng, 5, 6, kh, kw), "b": randF32(rng, 5)},
		Values:       map[string]*graph.Value{},
	}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
}

func TestTrimDeadTaps(t *testing.T) {
	for _, c := range []struct {
		name       string
		h, w       int
		kh, kw     int
		attrs      []*graph.Attr
		trimmed    bool
		wantKernel []int64
		wantPads   []int64
		wantDil    []int64
	}{
		{name: "ASPP rate 24 on a 20x20 map: centre tap only", h: 20, w: 20, kh: 3, kw: 3,
			attrs:   []*graph.Attr{intsAttr("dilations", 24, 24), intsAttr("pads", 24, 24, 24, 24)},
			trimmed: true, wantKernel: []int64{1, 1}, wantPads: []int64{0, 0, 0, 0}, wantDil: []int64{1, 1}},
		{name: "ASPP rate 36 on a 20x20 map", h: 20, w: 20, kh: 3, kw: 3,
			attrs:   []*graph.Attr{intsAttr("dilations", 36, 36), intsAttr("pads", 36, 36, 36, 36), intsAttr("kernel_shape", 3, 3)},
			trimmed: true, wantKernel: []int64{1, 1}, wantPads: []int64{0, 0, 0, 0}, wantDil: []int64{1, 1}},
		{name: "rate 12 on a 20x20 map: every tap reads the input", h: 20, w: 20, kh: 3, kw: 3,
			attrs: []*graph.Attr{intsAttr("dilations", 12, 12), intsAttr("pads", 12, 12, 12, 12)}},
		{name: "one axis only: 8 rows, 30 columns, rate 10", h: 8, w: 30, kh: 3, kw: 3,
			attrs:   []*graph.Attr{intsAttr("dilations", 10, 10), intsAttr("pads", 10, 10, 10, 10)},
			trimmed: true, wantKernel: []int64{1, 3}, wantPads: []int64{0, 10, 0, 10}, wantDil: []int64{1, 10}},
		{name: "5x5 rate 6 on 8x8: the two outer taps of each side", h: 8, w: 8, kh: 5, kw: 5,
			attrs:   []*graph.Attr{intsAttr("dilations", 6, 6), intsAttr("pads", 12, 12, 12, 12)},
			trimmed: true, wantKernel: []int64{3, 3}, wantPads: []int64{6, 6, 6, 6}, wantDil: []int64{6, 6}},
		{name: "asymmetric pads, strided", h: 9, w: 12, kh: 3, kw: 3,
			attrs:   []*graph.Attr{intsAttr("dilations", 9, 9), intsAttr("pads", 9, 0, 9, 18), intsAttr("strides", 2, 3)},
			trimmed: true, wantKernel: []int64{1, 2}, wantPads: []int64{0, 0, 0, 9}, wantDil: []int64{1, 9}},
		{name: "asymmetric pads, strided, one tap left", h: 9, w: 9, kh: 3, kw: 3,
			attrs:   []*graph.Attr{intsAttr("dilations", 9, 9), intsAttr("pads", 9, 0, 9, 18), intsAttr("strides", 2, 3)},
			trimmed: true, wantKernel: []int64{1, 1}, wantPads: []int64{0, 0, 0, 0}, wantDil: []int64{1, 1}},
		{name: "plain 3x3 pad 1", h: 6, w: 6, kh: 3, kw: 3, attrs: []*graph.Attr{intsAttr("pads", 1, 1, 1, 1)}},
		{name: "auto_pad is left alone", h: 4, w: 4, kh: 3, kw: 3,
			attrs: []*graph.Attr{intsAttr("dilations", 8, 8), {Name: "auto_pad", Type: graph.AttrString, S: "SAME_UPPER"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(9))
			src := asppModel(rng, c.h, c.w, c.kh, c.kw, c.attrs...)
			in := map[string]*graph.Tensor{"x": randF32(rng, 1, 6, c.h, c.w)}
			want := run(t, src, in)

			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			var conv *graph.Node
			for _, n := range m.Graph.Nodes {
				if n.OpType == "Conv" {
					conv = n
				}
			}
			require.NotNil(t, conv)
			if !c.trimmed {
				assert.Zero(t, st.Taps, st.String())
				assert.Equal(t, "w0", conv.Inputs[1])
			} else {
				assert.Equal(t, 1, st.Taps, st.String())
				assert.Equal(t, c.wantKernel, conv.AttrInts("kernel_shape", nil))
				assert.Equal(t, c.wantPads, conv.AttrInts("pads", nil))
				assert.Equal(t, c.wantDil, conv.AttrInts("dilations", nil))
				w := m.Graph.Initializers[conv.Inputs[1]]
				require.NotNil(t, w)
				assert.Equal(t, []int{5, 6, int(c.wantKernel[0]), int(c.wantKernel[1])}, w.Shape)
				assert.Equal(t, []int{5, 6, c.kh, c.kw}, src.Graph.Initializers["w0"].Shape, "the original weight is not edited")
			}
			got := run(t, m, in)
			require.Equal(t, want["y"].Shape, got["y"].Shape)
			assert.InDeltaSlice(t, want["y"].F32(), got["y"].F32(), 1e-4)
		})
	}
}

// TestTrimDeadTapsSharedWeight: two Convs share one weight, only one is
// trimmed; the other keeps the full kernel.
func TestTrimDeadTapsSharedWeight(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	m := asppModel(rng, 20, 20, 3, 3, intsAttr("dilations", 24, 24), intsAttr("pads", 24, 24, 24, 24))
	g := m.Graph
	g.Nodes = append(g.Nodes, node("Conv", []string{"x", "w", "b"}, []string{"c2"}, intsAttr("pads", 1, 1, 1, 1)))
	g.Outputs = append(g.Outputs, &graph.Value{Name: "c2", DType: graph.Float32})
	in := map[string]*graph.Tensor{"x": randF32(rng, 1, 6, 20, 20)}
	want := run(t, m, in)
	o := cloneGraph(m)
	st, err := optimize.Optimize(o, optimize.Options{Eval: runtime.ConstEval()})
	require.NoError(t, err)
	assert.Equal(t, 1, st.Taps)
	got := run(t, o, in)
	for _, name := range []string{"y", "c2"} {
		assert.InDeltaSlice(t, want[name].F32(), got[name].F32(), 1e-4, name)
	}
}

// TestTrimDeadTapsQDQ: in a QDQ model the weight is int8 codes behind a
// DequantizeLinear (per output channel, axis 0, as the quantizer and ONNX
// Runtime's write it); the codes are cut and the DequantizeLinear reads the
// cut ones. Per-channel scales along another axis, and a DequantizeLinear
// read twice, are left alone.
func TestTrimDeadTapsQDQ(t *testing.T) {
	for _, c := range []struct {
		name    string
		axis    int64
		shared  bool
		trimmed bool
	}{
		{"per output channel", 0, false, true},
		{"per-channel along axis 1", 1, false, false},
		{"dequantized weight read twice", 0, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(6))
			codes := graph.NewTensor(graph.Int8, []int{5, 6, 3, 3})
			for i := range codes.I8() {
				codes.I8()[i] = int8(rng.Intn(255) - 127)
			}
			n := 5
			if c.axis == 1 {
				n = 6
			}
			scale := randF32(rng, n)
			for i := range scale.F32() {
				scale.F32()[i] = 0.01 + 0.001*float32(i)
			}
			zp := graph.NewTensor(graph.Int8, []int{n})
			dq := node("DequantizeLinear", []string{"codes", "scale", "zp"}, []string{"w"}, intAttr("axis", c.axis))
			conv := node("Conv", []string{"x", "w", "b"}, []string{"y"}, intsAttr("dilations", 24, 24), intsAttr("pads", 24, 24, 24, 24))
			nodes := []*graph.Node{dq, conv}
			outs := []*graph.Value{{Name: "y", DType: graph.Float32}}
			if c.shared {
				nodes = append(nodes, node("Conv", []string{"x", "w", "b"}, []string{"y2"}, intsAttr("pads", 1, 1, 1, 1)))
				outs = append(outs, &graph.Value{Name: "y2", DType: graph.Float32})
			}
			g := &graph.Graph{Name: "qaspp", Nodes: nodes,
				Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(1, 6, 20, 20), HasShape: true}},
				Outputs:      outs,
				Initializers: map[string]*graph.Tensor{"codes": codes, "scale": scale, "zp": zp, "b": randF32(rng, 5)},
				Values:       map[string]*graph.Value{}}
			src := &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
			in := map[string]*graph.Tensor{"x": randF32(rng, 1, 6, 20, 20)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			if c.trimmed {
				assert.Equal(t, 1, st.Taps, st.String())
				assert.Equal(t, []int{5, 6, 1, 1}, m.Graph.Initializers[m.Graph.Nodes[0].Inputs[0]].Shape)
				assert.Equal(t, []int{5, 6, 3, 3}, codes.Shape, "the original codes are not edited")
			} else {
				assert.Zero(t, st.Taps, st.String())
			}
			got := run(t, m, in)
			for name, w := range want {
				assert.InDeltaSlice(t, w.F32(), got[name].F32(), 1e-4, name)
			}
		})
	}
}
