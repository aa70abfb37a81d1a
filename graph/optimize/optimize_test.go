package optimize_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
	"github.com/warboy-sim/warboy/runtime"
)

func node(op string, ins, outs []string, attrs ...*graph.Attr) *graph.Node {
	n := &graph.Node{Name: outs[0] + "_node", OpType: op, Inputs: ins, Outputs: outs, Attrs: map[string]*graph.Attr{}}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	return n
}

func tensorAttr(t *graph.Tensor) *graph.Attr {
	return &graph.Attr{Name: "value", Type: graph.AttrTensor, T: t}
}

func randF32(rng *rand.Rand, shape ...int) *graph.Tensor {
	t := graph.NewTensor(graph.Float32, shape)
	for i := range t.F32() {
		t.F32()[i] = float32(rng.NormFloat64())
	}
	return t
}

// exporterModel is a Conv -> Clip -> Reshape(flatten) -> Gemm classifier written
// the way torch.onnx writes one: the Conv weight and a shared zero bias reach the
// Conv through Identity nodes, the Clip bounds are Constant nodes, the flatten
// target comes from Shape -> Gather -> Unsqueeze -> Concat, the Gemm bias is a
// Cast of a float64 constant, and a dead branch hangs off the input.
func exporterModel(rng *rand.Rand) *graph.Model {
	inits := map[string]*graph.Tensor{
		"conv.w":  randF32(rng, 8, 3, 3, 3),
		"zeros":   graph.NewTensor(graph.Float32, []int{8}),
		"fc.w":    randF32(rng, 4, 8*6*6),
		"axes0":   graph.FromInt64([]int{1}, []int64{0}),
		"minus1":  graph.FromInt64([]int{1}, []int64{-1}),
		"gidx":    graph.FromInt64(nil, []int64{0}),
		"unused":  randF32(rng, 3),
		"fc.b64":  {DType: graph.Float64, Shape: []int{4}, Data: []float64{0.5, -1, 2, 0.25}},
		"dead.in": randF32(rng, 2),
	}
	nodes := []*graph.Node{
		node("Identity", []string{"conv.w"}, []string{"w_id"}),
		node("Identity", []string{"zeros"}, []string{"b_id"}),
		node("Identity", []string{"b_id"}, []string{"b_id2"}), // an Identity of an Identity
		node("Conv", []string{"x", "w_id", "b_id2"}, []string{"conv"},
			&graph.Attr{Name: "pads", Type: graph.AttrInts, Ints: []int64{1, 1, 1, 1}}),
		node("Constant", nil, []string{"lo"}, tensorAttr(graph.ScalarFloat32(0))),
		node("Constant", nil, []string{"hi"}, tensorAttr(graph.ScalarFloat32(6))),
		node("Clip", []string{"conv", "lo", "hi"}, []string{"act"}),
		node("Shape", []string{"act"}, []string{"shape"}),
		node("Gather", []string{"shape", "gidx"}, []string{"batch"}, &graph.Attr{Name: "axis", Type: graph.AttrInt, I: 0}),
		node("Unsqueeze", []string{"batch", "axes0"}, []string{"batch1"}),
		node("Concat", []string{"batch1", "minus1"}, []string{"target"}, &graph.Attr{Name: "axis", Type: graph.AttrInt, I: 0}),
		node("Reshape", []string{"act", "target"}, []string{"flat"}),
		node("Cast", []string{"fc.b64"}, []string{"fc.b"}, &graph.Attr{Name: "to", Type: graph.AttrInt, I: int64(graph.Float32)}),
		node("Gemm", []string{"flat", "fc.w", "fc.b"}, []string{"logits"}, &graph.Attr{Name: "transB", Type: graph.AttrInt, I: 1}),
		node("Relu", []string{"x"}, []string{"dead1"}),
		node("Add", []string{"dead.in", "dead.in"}, []string{"dead2"}),
		node("Dropout", []string{"logits"}, []string{"y"}),
	}
	g := &graph.Graph{
		Name:         "exporter",
		Nodes:        nodes,
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(1, 3, 6, 6), HasShape: true}},
		Outputs:      []*graph.Value{{Name: "y", DType: graph.Float32}},
		Initializers: inits,
		Values:       map[string]*graph.Value{},
	}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
}

func cloneGraph(m *graph.Model) *graph.Model {
	g := m.Graph
	ng := *g
	ng.Nodes = nil
	for _, n := range g.Nodes {
		ng.Nodes = append(ng.Nodes, n.Clone())
	}
	ng.Initializers = map[string]*graph.Tensor{}
	for k, v := range g.Initializers {
		ng.Initializers[k] = v
	}
	ng.Values = map[string]*graph.Value{}
	for k, v := range g.Values {
		c := *v
		ng.Values[k] = &c
	}
	nm := *m
	nm.Graph = &ng
	return &nm
}

func run(t *testing.T, m *graph.Model, in map[string]*graph.Tensor) map[string]*graph.Tensor {
	t.Helper()
	s, err := runtime.NewSession(m, runtime.WithMode(runtime.ModeFloat), runtime.WithGraphOptimization(false), runtime.WithThreads(1))
	require.NoError(t, err)
	out, err := s.RunTensors(in)
	require.NoError(t, err)
	return out
}

func opTypes(g *graph.Graph) map[string]int {
	c := map[string]int{}
	for _, n := range g.Nodes {
		c[n.OpType]++
	}
	return c
}

// failingEval is a constant evaluator with no Conv kernel (the runtime's for
// everything else, so shape inference still folds the shape subgraphs).
type failingEval struct{}

func (failingEval) EvalConst(n *graph.Node, opset int64, ins []*graph.Tensor) ([]*graph.Tensor, error) {
	if n.OpType == "Conv" {
		return nil, fmt.Errorf("no kernel for %s", n.OpType)
	}
	return runtime.ConstEval().EvalConst(n, opset, ins)
}

func TestOptimizeExporterGraph(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	src := exporterModel(rng)
	in := map[string]*graph.Tensor{"x": randF32(rng, 1, 3, 6, 6)}
	want := run(t, src, in)

	m := cloneGraph(src)
	st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
	require.NoError(t, err)
	// Identities: w_id, b_id, b_id2 and the Dropout that writes the graph output y (the
	// Gemm writes y instead). Folded: Shape, Gather, Unsqueeze, Concat, Cast and the
	// constant Add; dead: the Relu.
	assert.Equal(t, optimize.Stats{Constants: 2, Identities: 4, Folded: 6, Dead: 1}, st, st.String())
	assert.Equal(t, map[string]int{"Conv": 1, "Clip": 1, "Reshape": 1, "Gemm": 1}, opTypes(m.Graph))
	for _, n := range m.Graph.Nodes {
		switch n.OpType {
		case "Conv":
			assert.Equal(t, []string{"x", "conv.w", "zeros"}, n.Inputs, "Identity-fed weights read the initializers")
		case "Clip", "Reshape", "Gemm":
			for _, in := range n.Inputs[1:] {
				assert.NotNil(t, m.Graph.Initializers[in], "%s input %s is a constant", n.OpType, in)
			}
		}
	}
	assert.Equal(t, []int64{1, -1}, m.Graph.Initializers["target"].I64())
	assert.Equal(t, []float32{0.5, -1, 2, 0.25}, m.Graph.Initializers["fc.b"].F32())
	for _, name := range []string{"unused", "dead.in", "fc.b64", "gidx"} {
		assert.Nil(t, m.Graph.Initializers[name], "%s is no longer needed", name)
	}
	got := run(t, m, in)
	assert.Equal(t, want["y"].Shape, got["y"].Shape)
	assert.InDeltaSlice(t, want["y"].F32(), got["y"].F32(), 1e-5)
	// The source model is untouched.
	assert.Len(t, src.Graph.Nodes, 17)
}

func TestOptimizeKeepsTapsAndOutputs(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	m := exporterModel(rng)
	// A graph output that is an Identity output of an initializer stays as written.
	m.Graph.Nodes = append(m.Graph.Nodes, node("Identity", []string{"conv.w"}, []string{"w_out"}))
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "w_out"})
	_, err := optimize.Optimize(m, optimize.Options{Keep: map[string]bool{"b_id": true, "target": true}, Eval: runtime.ConstEval()})
	require.NoError(t, err)
	produced := map[string]bool{}
	for _, n := range m.Graph.Nodes {
		for _, o := range n.Outputs {
			produced[o] = true
		}
	}
	for _, name := range []string{"b_id", "target", "w_out", "y"} {
		assert.True(t, produced[name], "kept tensor %s is still computed", name)
	}
}

func TestOptimizeFoldsWithTheEvaluator(t *testing.T) {
	m := exporterModel(rand.New(rand.NewSource(3)))
	// A constant Conv: shape inference does not compute it, the evaluator does.
	m.Graph.Initializers["cx"] = randF32(rand.New(rand.NewSource(4)), 1, 3, 3, 3)
	m.Graph.Nodes = append(m.Graph.Nodes, node("Conv", []string{"cx", "conv.w"}, []string{"cc"}), node("Add", []string{"conv", "cc"}, []string{"z"}))
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "z"})
	_, err := optimize.Optimize(m, optimize.Options{})
	require.NoError(t, err)
	ops := opTypes(m.Graph)
	assert.Equal(t, 2, ops["Conv"], "a Conv of constants needs the evaluator")
	_, err = optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
	require.NoError(t, err)
	ops = opTypes(m.Graph)
	assert.Equal(t, 1, ops["Conv"])
	assert.Zero(t, ops["Shape"]+ops["Gather"]+ops["Unsqueeze"]+ops["Concat"]+ops["Cast"], "the evaluator folds the shape chain and the Cast")
	assert.Equal(t, []int{1, 8, 1, 1}, m.Graph.Initializers["cc"].Shape)
}

func TestOptimizeLeavesQuantizationOperators(t *testing.T) {
	w := graph.FromInt8([]int{4}, []int8{1, -2, 3, -4})
	g := &graph.Graph{
		Name: "qdq",
		Nodes: []*graph.Node{
			node("Identity", []string{"w"}, []string{"w_id"}),
			node("DequantizeLinear", []string{"w_id", "s"}, []string{"wf"}),
			node("Add", []string{"x", "wf"}, []string{"y"}),
		},
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(4), HasShape: true}},
		Outputs:      []*graph.Value{{Name: "y"}},
		Initializers: map[string]*graph.Tensor{"w": w, "s": graph.ScalarFloat32(0.5)},
		Values:       map[string]*graph.Value{},
	}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}}
	_, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"DequantizeLinear": 1, "Add": 1}, opTypes(g))
	assert.Equal(t, []string{"w", "s"}, g.Nodes[0].Inputs)
}

func TestOptimizeRejectsCycles(t *testing.T) {
	g := &graph.Graph{
		Name: "cycle",
		Nodes: []*graph.Node{
			node("Relu", []string{"b"}, []string{"a"}),
			node("Relu", []string{"a"}, []string{"b"}),
		},
		Outputs:      []*graph.Value{{Name: "a"}},
		Initializers: map[string]*graph.Tensor{},
		Values:       map[string]*graph.Value{},
	}
	_, err := optimize.Optimize(&graph.Model{Graph: g, Opsets: map[string]int64{"": 13}}, optimize.Options{})
	require.Error(t, err)
	_, err = optimize.Optimize(nil, optimize.Options{})
	require.Error(t, err)
}

func TestOptimizeLeavesNodesItCannotEvaluate(t *testing.T) {
	m := exporterModel(rand.New(rand.NewSource(5)))
	m.Graph.Initializers["cx"] = randF32(rand.New(rand.NewSource(6)), 1, 3, 3, 3)
	m.Graph.Nodes = append(m.Graph.Nodes, node("Conv", []string{"cx", "conv.w"}, []string{"cc"}), node("Add", []string{"conv", "cc"}, []string{"z"}))
	m.Graph.Outputs = append(m.Graph.Outputs, &graph.Value{Name: "z"})
	_, err := optimize.Optimize(m, optimize.Options{Eval: failingEval{}})
	require.NoError(t, err)
	assert.Equal(t, 2, opTypes(m.Graph)["Conv"], "the constant Conv stays for the executor")
}

// TestOptimizeFoldsUntilNothingChanges: torchvision's detection transform
// computes its Resize sizes with float arithmetic on constants (ReduceMin →
// Reciprocal → Mul → Floor → Cast), which only the evaluator folds; the Shape
// chain that reads the resized image (batch_images' padding) becomes known only
// after that, in a second round.
func TestOptimizeFoldsUntilNothingChanges(t *testing.T) {
	i64 := func(v ...int64) *graph.Tensor { return graph.FromInt64([]int{len(v)}, v) }
	m := &graph.Model{Graph: &graph.Graph{
		Name:   "transform",
		Inputs: []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(1, 3, 8, 8), HasShape: true}},
		Initializers: map[string]*graph.Tensor{
			"sizes_hw": {DType: graph.Float32, Shape: []int{2}, Data: []float32{8, 12}},
			"target":   graph.ScalarFloat32(12),
			"nc":       i64(1, 3),
			"ax0":      i64(0),
			"two":      graph.FromInt64(nil, []int64{2}),
			"minus1":   i64(-1),
		},
		Values: map[string]*graph.Value{},
		Nodes: []*graph.Node{
			node("ReduceMin", []string{"sizes_hw"}, []string{"mn"}, &graph.Attr{Name: "keepdims", Type: graph.AttrInt, I: 0}),
			node("Reciprocal", []string{"mn"}, []string{"rc"}),
			node("Mul", []string{"rc", "target"}, []string{"scale"}),
			node("Mul", []string{"scale", "mn"}, []string{"side"}),
			node("Floor", []string{"side"}, []string{"fl"}),
			node("Cast", []string{"fl"}, []string{"side64"}, &graph.Attr{Name: "to", Type: graph.AttrInt, I: int64(graph.Int64)}),
			node("Unsqueeze", []string{"side64", "ax0"}, []string{"side1"}),
			node("Concat", []string{"nc", "side1", "side1"}, []string{"sizes"}, &graph.Attr{Name: "axis", Type: graph.AttrInt, I: 0}),
			node("Resize", []string{"x", "", "", "sizes"}, []string{"y"}, &graph.Attr{Name: "mode", Type: graph.AttrString, S: "linear"}),
			node("Shape", []string{"y"}, []string{"ys"}),
			node("Gather", []string{"ys", "two"}, []string{"h"}),
			node("Unsqueeze", []string{"h", "ax0"}, []string{"h1"}),
			node("Concat", []string{"minus1", "h1"}, []string{"shape"}, &graph.Attr{Name: "axis", Type: graph.AttrInt, I: 0}),
			node("Reshape", []string{"y", "shape"}, []string{"z"}),
		},
		Outputs: []*graph.Value{{Name: "z"}},
	}}
	m.IRVersion, m.Opsets, m.Metadata = 8, map[string]int64{"": 13}, map[string]string{}
	_, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
	require.NoError(t, err)
	ops := opTypes(m.Graph)
	assert.Equal(t, map[string]int{"Resize": 1, "Reshape": 1}, ops, "everything but the two data nodes folds")
	assert.Equal(t, []int64{-1, 12}, m.Graph.Initializers["shape"].Data)
	assert.Equal(t, "[1,3,12,12]", m.Graph.Values["y"].Shape.String())
}
