package runtime

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
)

// controlFlowModel is built by scripts/sweep_models.py testdata with onnx.helper: a
// data-dependent If (branches of different row counts, a nested If in the else
// branch), an If on a shape check (constant once shapes are known), a Loop with a
// carried value and a scan output, and torchvision's "no boxes left" If whose then
// branch is an empty Constant. npy_control holds inputs and ONNX Runtime's answers.
var controlFlowModel = filepath.Join("..", "testdata", "exported", "control_flow_opset13.onnx")

func TestControlFlowAgainstORT(t *testing.T) {
	m, err := graph.Load(controlFlowModel)
	require.NoError(t, err)
	for _, opt := range []struct {
		name string
		opts []Option
	}{
		{"optimized", nil},
		{"as-written", []Option{WithGraphOptimization(false)}},
		{"all-taps", []Option{WithAllTaps()}},
	} {
		s, err := NewSession(m, append(opt.opts, WithMode(ModeFloat))...)
		require.NoError(t, err, opt.name)
		for _, sample := range []string{"pos", "small", "mixed"} {
			dir := filepath.Join("..", "testdata", "exported", "npy_control")
			x, err := dataset.ReadNPY(filepath.Join(dir, sample+".npy"))
			require.NoError(t, err)
			want, err := dataset.ReadNPZ(filepath.Join(dir+"_ort", sample+".npz"))
			require.NoError(t, err)
			got, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
			require.NoError(t, err, "%s %s", opt.name, sample)
			require.Len(t, want, 3)
			for name, w := range want {
				assert.NoError(t, CompareTensors(got[name], w, Tolerance{Rtol: 1e-5, Atol: 1e-6}), "%s %s %s", opt.name, sample, name)
			}
		}
	}
}

// The shape check's If is inlined by shape inference; the data-dependent ones stay
// and get merged shapes (rows differ between branches: unknown).
func TestControlFlowInference(t *testing.T) {
	m, err := graph.Load(controlFlowModel)
	require.NoError(t, err)
	_, err = m.InferShapes(graph.InferOptions{Eval: ConstEval(), InputShapes: map[string][]int{"x": {2, 3, 8, 8}}})
	require.NoError(t, err)
	ops := map[string]int{}
	for _, n := range m.Graph.Nodes {
		ops[n.OpType+" "+n.Name]++
	}
	assert.NotContains(t, ops, "If if_shape", "constant If inlined")
	assert.Contains(t, ops, "If if_pos")
	if p := m.Graph.Producers()["shaped"]; assert.NotNil(t, p) {
		assert.Equal(t, "Relu", p.OpType, "then branch spliced in, writing the If's output")
	}
	assert.Contains(t, ops, "If if_empty")
	assert.Contains(t, ops, "Loop loop")
	v := m.Graph.Values["branch"]
	require.NotNil(t, v)
	assert.Equal(t, "[?,4]", v.Shape.String())
	assert.Equal(t, "[?]", m.Graph.Values["loop_scan"].Shape.String())
	assert.Equal(t, "[?,4]", m.Graph.Values["loop_out"].Shape.String())

	// Saved and reloaded, the model keeps its subgraphs.
	data, err := m.Encode()
	require.NoError(t, err)
	m2, err := graph.Decode(data)
	require.NoError(t, err)
	s, err := NewSession(m2, WithMode(ModeFloat))
	require.NoError(t, err)
	x := graph.FromFloat32([]int{2, 3, 8, 8}, make([]float32, 2*3*8*8))
	out, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
	require.NoError(t, err)
	assert.Equal(t, []int{0}, out["rows_out"].Shape)
}

// A subgraph reading a value that does not exist, or a missing branch, is an error
// naming the node.
func TestControlFlowErrors(t *testing.T) {
	then := &graph.Graph{Name: "t", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{},
		Nodes:   []*graph.Node{{OpType: "Relu", Inputs: []string{"nowhere"}, Outputs: []string{"r"}, Attrs: map[string]*graph.Attr{}}},
		Outputs: []*graph.Value{{Name: "r", DType: graph.Float32}}}
	n := &graph.Node{Name: "the_if", OpType: "If", Inputs: []string{"c"}, Outputs: []string{"y"},
		Attrs: map[string]*graph.Attr{"then_branch": {Name: "then_branch", Type: graph.AttrGraph, G: then}}}
	g := &graph.Graph{Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{},
		Inputs:  []*graph.Value{{Name: "c", DType: graph.Bool, HasShape: true}},
		Outputs: []*graph.Value{{Name: "y", DType: graph.Float32}}, Nodes: []*graph.Node{n}}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}}
	_, err := NewSession(m, WithMode(ModeFloat))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the_if")
	assert.Contains(t, err.Error(), "nowhere")

	g.Inputs = append(g.Inputs, &graph.Value{Name: "nowhere", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(2)})
	_, err = NewSession(m, WithMode(ModeFloat))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `If "the_if"`)
	assert.Contains(t, err.Error(), "else_branch")
}

// Session.Run may be called concurrently; the If and Loop kernels share their
// sub-sessions between runs.
func TestControlFlowConcurrentRuns(t *testing.T) {
	m, err := graph.Load(controlFlowModel)
	require.NoError(t, err)
	s, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
	require.NoError(t, err)
	dir := filepath.Join("..", "testdata", "exported", "npy_control")
	samples := []string{"pos", "small", "mixed"}
	xs := map[string]*graph.Tensor{}
	wants := map[string]map[string]*graph.Tensor{}
	for _, name := range samples {
		x, err := dataset.ReadNPY(filepath.Join(dir, name+".npy"))
		require.NoError(t, err)
		w, err := dataset.ReadNPZ(filepath.Join(dir+"_ort", name+".npz"))
		require.NoError(t, err)
		xs[name], wants[name] = x, w
	}
	errs := make(chan error, 12)
	for i := 0; i < 12; i++ {
		name := samples[i%3]
		go func() {
			got, err := s.RunTensors(map[string]*graph.Tensor{"x": xs[name]})
			if err == nil {
				for k, w := range wants[name] {
					if err = CompareTensors(got[k], w, Tolerance{Rtol: 1e-5, Atol: 1e-6}); err != nil {
						break
					}
				}
			}
			errs <- err
		}()
	}
	for i := 0; i < 12; i++ {
		assert.NoError(t, <-errs)
	}
}

// torch.jit.script writes `for _ in range(int(t))` of a float tensor t as a Loop
// whose trip count is float32 (ONNX Runtime refuses such a model when it loads it):
// an error naming the node and the type, not a panic.
func TestLoopFloatTripCount(t *testing.T) {
	body := &graph.Graph{Name: "body", Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{},
		Inputs: []*graph.Value{{Name: "i", DType: graph.Int64, HasShape: true}, {Name: "cin", DType: graph.Bool, HasShape: true},
			{Name: "v", DType: graph.Float32}},
		Nodes: []*graph.Node{
			{OpType: "Identity", Inputs: []string{"cin"}, Outputs: []string{"cout"}, Attrs: map[string]*graph.Attr{}},
			{OpType: "Neg", Inputs: []string{"v"}, Outputs: []string{"vout"}, Attrs: map[string]*graph.Attr{}}},
		Outputs: []*graph.Value{{Name: "cout", DType: graph.Bool}, {Name: "vout", DType: graph.Float32}}}
	n := &graph.Node{Name: "the_loop", OpType: "Loop", Inputs: []string{"m", "", "x"}, Outputs: []string{"y"},
		Attrs: map[string]*graph.Attr{"body": {Name: "body", Type: graph.AttrGraph, G: body}}}
	for _, tc := range []struct {
		dt   graph.DType
		trip *graph.Tensor
		err  string
	}{
		{graph.Float32, graph.FromFloat32(nil, []float32{3}), "float32"},
		{graph.Int64, graph.FromInt64(nil, []int64{3}), ""},
	} {
		g := &graph.Graph{Initializers: map[string]*graph.Tensor{}, Values: map[string]*graph.Value{},
			Inputs: []*graph.Value{{Name: "m", DType: tc.dt, HasShape: true},
				{Name: "x", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(2)}},
			Outputs: []*graph.Value{{Name: "y", DType: graph.Float32}}, Nodes: []*graph.Node{n}}
		m := &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}}
		s, err := NewSession(m, WithMode(ModeFloat))
		require.NoError(t, err)
		out, err := s.RunTensors(map[string]*graph.Tensor{"m": tc.trip, "x": graph.FromFloat32([]int{2}, []float32{1, -2})})
		if tc.err == "" {
			require.NoError(t, err)
			assert.Equal(t, []float32{-1, 2}, out["y"].F32(), "three negations")
			continue
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), `Loop "the_loop"`)
		assert.Contains(t, err.Error(), "trip count M must be one int64, got "+tc.err)
	}
}
