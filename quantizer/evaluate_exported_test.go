package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// withArgMax appends an int64 ArgMax output after the logits, as converters write
// a "label" output beside the scores.
func withArgMax(m *graph.Model) *graph.Model {
	m = m.Clone()
	g := m.Graph
	n := &graph.Node{Name: "argmax", OpType: "ArgMax", Inputs: []string{"logits"}, Outputs: []string{"label"}, Attrs: map[string]*graph.Attr{}}
	n.SetAttrInt("axis", 1)
	n.SetAttrInt("keepdims", 0)
	g.Nodes = append(g.Nodes, n)
	g.Outputs = append(g.Outputs, &graph.Value{Name: "label", DType: graph.Int64})
	return m
}

// withStaticBatch fixes the input's leading dimension to 1 (torch.onnx's default
// export).
func withStaticBatch(m *graph.Model) *graph.Model {
	m = m.Clone()
	in := m.Graph.Inputs[0]
	in.Shape = append(graph.Shape(nil), in.Shape...)
	in.Shape[0] = graph.Dim{Size: 1}
	return m
}

// The accuracy-budget evaluator on exported models: an int64 output beside the
// scores (before: `output "label" is int64, not float32`) and a static batch of 1
// fed batches of 100 (before: `got shape [7,1,28,28], model expects [1,1,28,28]`).
// The score is the one of the float outputs alone.
func TestEvaluatorExportedModels(t *testing.T) {
	m, q := quantizedCNN(t)
	_, test := fmnist(t)
	data := dsBatches{test, "input"}
	ref, err := NewEvaluator(m, data, EvalOptions{N: 7})
	require.NoError(t, err)
	want, err := ref.Score(q)
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		edit func(*graph.Model) *graph.Model
	}{
		{"int64 output", withArgMax},
		{"static batch 1", withStaticBatch},
		{"both", func(m *graph.Model) *graph.Model { return withStaticBatch(withArgMax(m)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := NewEvaluator(c.edit(m), data, EvalOptions{N: 7})
			require.NoError(t, err)
			assert.Equal(t, 7, ev.Samples())
			got, err := ev.Score(c.edit(q))
			require.NoError(t, err)
			assert.True(t, got.Classes)
			assert.InDelta(t, float64(want.SQNR), float64(got.SQNR), 1e-9)
			assert.Equal(t, want.Agreement, got.Agreement)
		})
	}
	only := withArgMax(m)
	only.Graph.Outputs = only.Graph.Outputs[1:]
	_, err = NewEvaluator(only, data, EvalOptions{N: 7})
	assert.ErrorContains(t, err, "no float32 output")
}

// TestEvaluatorProgress: the float run and each Score report their batches, the
// last call at the total.
func TestEvaluatorProgress(t *testing.T) {
	m, q := quantizedCNN(t)
	_, test := fmnist(t)
	var calls [][2]int
	rec := func(done, total int) { calls = append(calls, [2]int{done, total}) }
	ev, err := NewEvaluator(m, dsBatches{test, "input"}, EvalOptions{N: 250, BatchSize: 100, Progress: rec})
	require.NoError(t, err)
	assert.Equal(t, [][2]int{{100, 250}, {200, 250}, {250, 250}}, calls)
	calls = nil
	ev.SetProgress(nil)
	_, err = ev.Score(q)
	require.NoError(t, err)
	assert.Empty(t, calls)
	ev.SetProgress(rec)
	_, err = ev.Score(q)
	require.NoError(t, err)
	assert.Equal(t, [][2]int{{100, 250}, {200, 250}, {250, 250}}, calls)
}

// Nodes without names (legal in ONNX; hand-built and converted graphs) get names of
// their own in the quantize-ready graph, so that an exclusion names one node. Before,
// the accuracy-budget fallback excluded the island "" and with it every unnamed node:
// the whole model stayed float32.
func TestQuantizeUnnamedNodes(t *testing.T) {
	m0, _ := quantizedCNN(t)
	m := m0.Clone()
	var convs []string
	for _, n := range m.Graph.Nodes {
		n.Name = ""
		if n.OpType == "Conv" {
			convs = append(convs, n.Outputs[0])
		}
	}
	require.GreaterOrEqual(t, len(convs), 2)
	r, err := calibrate(t, m, MinMaxAsym, 100).ComputeRanges()
	require.NoError(t, err)
	countQConvs := func(q *graph.Model) int {
		// Convolutions whose weights are dequantized int8.
		deq := map[string]bool{}
		for _, n := range q.Graph.Nodes {
			if n.OpType == "DequantizeLinear" && q.Graph.Initializers[n.Input(0)] != nil {
				deq[n.Outputs[0]] = true
			}
		}
		c := 0
		for _, n := range q.Graph.Nodes {
			if n.OpType == "Conv" && deq[n.Input(1)] {
				c++
			}
		}
		return c
	}
	all, err := Quantize(m, r, QuantOptions{})
	require.NoError(t, err)
	for _, n := range all.Graph.Nodes {
		assert.NotEmpty(t, n.Name, "every node of the written model has a name")
	}
	q, err := Quantize(m, r, QuantOptions{Exclude: []string{convs[0]}})
	require.NoError(t, err)
	assert.Equal(t, countQConvs(all)-1, countQConvs(q), "excluding one unnamed Conv by its name keeps the others int8")
	_, err = Quantize(m, r, QuantOptions{Exclude: []string{""}})
	assert.ErrorContains(t, err, `excluded node "" is not in the model`)
}

// An excluded node that optimizing removes (a shape computation that folds once the
// input shapes are bound: an accuracy-budget island written with --input-shape) is
// not an error; a name that is in no version of the model still is.
func TestQuantizeExcludeFoldedNode(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	w := graph.NewTensor(graph.Float32, []int{8, 6})
	for i := range w.F32() {
		w.F32()[i] = float32(rng.NormFloat64())
	}
	mk := func(op string, ins, outs []string) *graph.Node {
		return &graph.Node{Name: op + "_" + outs[0], OpType: op, Inputs: ins, Outputs: outs, Attrs: map[string]*graph.Attr{}}
	}
	gather := mk("Gather", []string{"shape", "i0"}, []string{"n"})
	unsq := mk("Unsqueeze", []string{"n", "ax0"}, []string{"n1"})
	cat := mk("Concat", []string{"n1", "minus1"}, []string{"target"})
	cat.SetAttrInt("axis", 0)
	g := &graph.Graph{
		Name: "flatten",
		Nodes: []*graph.Node{
			mk("Relu", []string{"x"}, []string{"r"}),
			mk("Shape", []string{"r"}, []string{"shape"}), gather, unsq, cat,
			mk("Reshape", []string{"r", "target"}, []string{"flat"}),
			mk("MatMul", []string{"flat", "w"}, []string{"y"}),
		},
		Inputs:  []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: 2}, {Size: 4}}, HasShape: true}},
		Outputs: []*graph.Value{{Name: "y", DType: graph.Float32}},
		Initializers: map[string]*graph.Tensor{"w": w, "i0": graph.FromInt64(nil, []int64{0}),
			"ax0": graph.FromInt64([]int{1}, []int64{0}), "minus1": graph.FromInt64([]int{1}, []int64{-1})},
		Values: map[string]*graph.Value{},
	}
	m := &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
	c, err := NewCalibrator(m, MinMaxAsym, CalibOptions{})
	require.NoError(t, err)
	x := graph.NewTensor(graph.Float32, []int{3, 2, 4})
	for i := range x.F32() {
		x.F32()[i] = float32(rng.NormFloat64())
	}
	require.NoError(t, c.Collect(map[string]*graph.Tensor{"x": x}))
	r, err := c.ComputeRanges()
	require.NoError(t, err)
	ex := []string{"Concat_target", "Gather_n"}
	_, err = Quantize(m, r, QuantOptions{Exclude: ex})
	require.NoError(t, err, "symbolic batch: the shape nodes are in the model")
	bound := m.Clone()
	require.NoError(t, bound.BindInputShapes(map[string][]int{"x": {3, 2, 4}}))
	q, err := Quantize(bound, r, QuantOptions{Exclude: ex})
	require.NoError(t, err, "bound shapes fold the shape nodes away")
	for _, n := range q.Graph.Nodes {
		assert.NotEqual(t, "Concat", n.OpType)
	}
	_, err = Quantize(bound, r, QuantOptions{Exclude: []string{"no_such_node"}})
	assert.ErrorContains(t, err, `excluded node "no_such_node" is not in the model`)
}
