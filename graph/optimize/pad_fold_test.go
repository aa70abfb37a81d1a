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

func intsAttr(name string, v ...int64) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrInts, Ints: v}
}

func intAttr(name string, v int64) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrInt, I: v}
}

// padModel is x [1, 4, 7, 6] -> Pad -> consumer -> y, as torch.onnx writes
// F.avg_pool2d(x, 3, 1, padding=1) at opset 13: the pads come from a Constant
// node, the AveragePool has no pads of its own. pad edits the Pad, cons the
// consumer; extra adds nodes (a second reader of the padded tensor).
func padModel(rng *rand.Rand, pads []int64, pad func(*graph.Node), cons *graph.Node, extra ...*graph.Node) *graph.Model {
	p := node("Pad", []string{"x", "pads"}, []string{"xp"})
	if pad != nil {
		pad(p)
	}
	nodes := append([]*graph.Node{
		node("Constant", nil, []string{"pads"}, tensorAttr(graph.FromInt64([]int{len(pads)}, pads))),
		p, cons,
	}, extra...)
	g := &graph.Graph{
		Name:         "pad",
		Nodes:        nodes,
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(1, 4, 7, 6), HasShape: true}},
		Outputs:      []*graph.Value{{Name: "y", DType: graph.Float32}},
		Initializers: map[string]*graph.Tensor{"w": randF32(rng, 5, 4, 3, 2), "b": randF32(rng, 5), "zero": graph.ScalarFloat32(0), "one": graph.ScalarFloat32(1)},
		Values:       map[string]*graph.Value{},
	}
	for _, n := range extra {
		g.Outputs = append(g.Outputs, &graph.Value{Name: n.Outputs[0], DType: graph.Float32})
	}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
}

func TestFoldPadIntoConsumer(t *testing.T) {
	avg := func(attrs ...*graph.Attr) *graph.Node {
		return node("AveragePool", []string{"xp"}, []string{"y"}, append([]*graph.Attr{intsAttr("kernel_shape", 3, 3)}, attrs...)...)
	}
	conv := func(attrs ...*graph.Attr) *graph.Node {
		return node("Conv", []string{"xp", "w", "b"}, []string{"y"}, attrs...)
	}
	hw := []int64{0, 0, 1, 2, 0, 0, 2, 1} // H begin 1, W begin 2, H end 2, W end 1
	for _, c := range []struct {
		name     string
		pads     []int64
		pad      func(*graph.Node)
		cons     *graph.Node
		extra    []*graph.Node
		folded   bool
		wantPads []int64
	}{
		{name: "avgpool, torch.onnx count_include_pad", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, cons: avg(), folded: true, wantPads: []int64{1, 1, 1, 1}},
		{name: "avgpool, asymmetric, strided", pads: hw, cons: avg(intsAttr("strides", 2, 2)), folded: true, wantPads: []int64{1, 2, 2, 1}},
		{name: "avgpool with own pads, count_include_pad", pads: []int64{0, 0, 1, 0, 0, 0, 0, 1}, cons: avg(intsAttr("pads", 1, 1, 1, 1), intAttr("count_include_pad", 1)), folded: true, wantPads: []int64{2, 1, 1, 2}},
		{name: "explicit zero constant_value", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, pad: func(n *graph.Node) { n.Inputs = append(n.Inputs, "zero") }, cons: avg(), folded: true, wantPads: []int64{1, 1, 1, 1}},
		{name: "conv with own pads", pads: hw, cons: conv(intsAttr("pads", 1, 0, 1, 0), intsAttr("strides", 1, 2)), folded: true, wantPads: []int64{2, 2, 3, 1}},
		{name: "conv, dilated", pads: []int64{0, 0, 2, 1, 0, 0, 2, 1}, cons: conv(intsAttr("dilations", 2, 2)), folded: true, wantPads: []int64{2, 1, 2, 1}},
		{name: "avgpool with own pads not counted", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, cons: avg(intsAttr("pads", 1, 1, 1, 1))},
		{name: "avgpool ceil_mode", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, cons: avg(intsAttr("strides", 2, 2), intAttr("ceil_mode", 1))},
		{name: "avgpool pad as wide as the window", pads: []int64{0, 0, 3, 0, 0, 0, 0, 0}, cons: avg()},
		{name: "non-zero value", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, pad: func(n *graph.Node) { n.Inputs = append(n.Inputs, "one") }, cons: avg()},
		{name: "reflect mode", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, pad: func(n *graph.Node) { n.SetAttrString("mode", "reflect") }, cons: conv()},
		{name: "channel pad", pads: []int64{0, 1, 1, 1, 0, 0, 1, 1}, cons: avg()},
		{name: "negative pad (a crop)", pads: []int64{0, 0, -1, 1, 0, 0, 1, 1}, cons: avg()},
		{name: "maxpool pads with -inf", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, cons: node("MaxPool", []string{"xp"}, []string{"y"}, intsAttr("kernel_shape", 3, 3))},
		{name: "conv auto_pad", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, cons: conv(&graph.Attr{Name: "auto_pad", Type: graph.AttrString, S: "SAME_UPPER"})},
		{name: "padded tensor read twice", pads: []int64{0, 0, 1, 1, 0, 0, 1, 1}, cons: avg(), extra: []*graph.Node{node("Relu", []string{"xp"}, []string{"r"})}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			src := padModel(rng, c.pads, c.pad, c.cons, c.extra...)
			in := map[string]*graph.Tensor{"x": randF32(rng, 1, 4, 7, 6)}
			want := run(t, src, in)

			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			if !c.folded {
				assert.Zero(t, st.Pads, st.String())
				assert.Equal(t, 1, ops["Pad"], "the Pad stays")
			} else {
				assert.Equal(t, 1, st.Pads, st.String())
				assert.Zero(t, ops["Pad"], "the Pad is folded")
				for _, n := range m.Graph.Nodes {
					if n.Outputs[0] == "y" {
						assert.Equal(t, "x", n.Inputs[0])
						assert.Equal(t, c.wantPads, n.AttrInts("pads", nil))
						if n.OpType == "AveragePool" {
							assert.EqualValues(t, 1, n.AttrInt("count_include_pad", 0))
						}
					}
				}
			}
			got := run(t, m, in)
			for name, w := range want {
				require.Equal(t, w.Shape, got[name].Shape, name)
				assert.InDeltaSlice(t, w.F32(), got[name].F32(), 1e-5, name)
			}
		})
	}
}
