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

// meanModel is x [2, 5, 4, 3] -> Relu -> ReduceMean -> Gemm, as torch.onnx
// writes MNASNet's x.mean([2, 3]) head (opset 13: axes an attribute,
// keepdims 0); at opset 18 the axes come from a Constant node. Another shape
// (a 5-D clip, a mean over one axis) has no Gemm: the mean is the output.
func meanModel(rng *rand.Rand, opset int64, shape []int, axes []int64, keepdims int64) *graph.Model {
	return reduceModel(rng, "ReduceMean", opset, shape, axes, keepdims)
}

// reduceModel is meanModel with another reduction.
func reduceModel(rng *rand.Rand, op string, opset int64, shape []int, axes []int64, keepdims int64) *graph.Model {
	mean := node(op, []string{"r"}, []string{"m"}, intAttr("keepdims", keepdims))
	nodes := []*graph.Node{node("Relu", []string{"x"}, []string{"r"})}
	if opset >= 18 {
		nodes = append(nodes, node("Constant", nil, []string{"axes"}, tensorAttr(graph.FromInt64([]int{len(axes)}, axes))))
		mean.Inputs = append(mean.Inputs, "axes")
	} else {
		mean.Attrs["axes"] = intsAttr("axes", axes...)
	}
	nodes = append(nodes, mean)
	out := "m"
	init := map[string]*graph.Tensor{}
	if keepdims == 0 && len(shape) == 4 && len(axes) == 2 {
		init["fc"] = randF32(rng, 7, shape[1])
		nodes = append(nodes, node("Gemm", []string{"m", "fc"}, []string{"y"}, intAttr("transB", 1)))
		out = "y"
	}
	g := &graph.Graph{
		Name:         "mean",
		Nodes:        nodes,
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(shape...), HasShape: true}},
		Outputs:      []*graph.Value{{Name: out, DType: graph.Float32}},
		Initializers: init,
		Values:       map[string]*graph.Value{},
	}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": opset}, Metadata: map[string]string{}}
}

func TestReduceMeanToGlobalPool(t *testing.T) {
	image, clip := []int{2, 5, 4, 3}, []int{2, 3, 4, 5, 6}
	for _, c := range []struct {
		name     string
		opset    int64
		shape    []int
		axes     []int64
		keepdims int64
		pool     string // the operator the mean becomes, "" for none
		reshape  bool   // a Reshape drops the pooled axis
	}{
		{"torch x.mean([2, 3]), opset 13", 13, image, []int64{2, 3}, 0, "GlobalAveragePool", false},
		{"negative axes, keepdims", 13, image, []int64{-1, -2}, 1, "GlobalAveragePool", false},
		{"opset 18 axes input", 18, image, []int64{2, 3}, 0, "GlobalAveragePool", false},
		{"opset 11", 11, image, []int64{3, 2}, 1, "GlobalAveragePool", false},
		{"clip x.mean([2, 3, 4])", 13, clip, []int64{2, 3, 4}, 0, "GlobalAveragePool", false},
		{"clip, keepdims, opset 18", 18, clip, []int64{4, 2, 3}, 1, "GlobalAveragePool", false},
		{"one spatial axis, keepdims", 13, image, []int64{3}, 1, "AveragePool", false},
		{"x.mean(2)", 12, image, []int64{2}, 0, "AveragePool", true},
		{"x.mean(-1), opset 18", 18, image, []int64{-1}, 0, "AveragePool", true},
		{"clip, two of three spatial axes", 13, clip, []int64{3, 4}, 1, "", false},
		{"clip, one axis", 13, clip, []int64{2}, 0, "", false},
		{"channels too", 13, image, []int64{1, 2, 3}, 1, "", false},
		{"channels only", 13, image, []int64{1}, 0, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(2))
			src := meanModel(rng, c.opset, c.shape, c.axes, c.keepdims)
			in := map[string]*graph.Tensor{"x": randF32(rng, c.shape...)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			if c.pool != "" {
				assert.Equal(t, 1, st.Pools, st.String())
				assert.Zero(t, ops["ReduceMean"])
				assert.Equal(t, 1, ops[c.pool])
				if c.pool == "GlobalAveragePool" {
					assert.Equal(t, int(1-c.keepdims), ops["Flatten"])
				}
				assert.Equal(t, map[bool]int{true: 1}[c.reshape], ops["Reshape"])
			} else {
				assert.Zero(t, st.Pools, st.String())
				assert.Equal(t, 1, ops["ReduceMean"])
			}
			got := run(t, m, in)
			for name, w := range want {
				require.Equal(t, w.Shape, got[name].Shape, name)
				assert.InDeltaSlice(t, w.F32(), got[name].F32(), 1e-5, name)
			}
		})
	}
}

// TestReduceMeanOneAxisSymbolic: a mean over a spatial axis whose size is
// not known stays a ReduceMean (the pool's window is that size).
func TestReduceMeanOneAxisSymbolic(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	m := meanModel(rng, 13, []int{1, 3, 5, 7}, []int64{2}, 0)
	m.Graph.Inputs[0].Shape[2] = graph.Dim{Param: "height"}
	_, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
	require.NoError(t, err)
	assert.Equal(t, 1, opTypes(m.Graph)["ReduceMean"])
}

// TestReduceMeanLayerNormStays: the written-out LayerNorm of a ViT export
// ([1, L, D], mean over the last axis; ReduceMean -> Sub -> Pow -> ReduceMean
// -> Add -> Sqrt -> Div) and the centring mean of a 4-D instance
// normalisation keep their ReduceMeans, so that the normalisation fusions
// still see them.
func TestReduceMeanLayerNormStays(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, c := range []struct {
		name  string
		shape []int
		axes  []int64
	}{
		{"ViT LayerNorm, rank 3", []int{1, 5, 8}, []int64{-1}},
		{"instance norm, rank 4", []int{1, 3, 4, 4}, []int64{2, 3}},
		{"channels-last LayerNorm, rank 4", []int{1, 4, 5, 8}, []int64{-1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &graph.Graph{
				Name: "ln",
				Nodes: []*graph.Node{
					node("ReduceMean", []string{"x"}, []string{"mu"}, intsAttr("axes", c.axes...)),
					node("Sub", []string{"x", "mu"}, []string{"d"}),
					node("Pow", []string{"d", "two"}, []string{"d2"}),
					node("ReduceMean", []string{"d2"}, []string{"var"}, intsAttr("axes", c.axes...)),
					node("Add", []string{"var", "eps"}, []string{"ve"}),
					node("Sqrt", []string{"ve"}, []string{"sd"}),
					node("Div", []string{"d", "sd"}, []string{"y"}),
				},
				Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(c.shape...), HasShape: true}},
				Outputs:      []*graph.Value{{Name: "y", DType: graph.Float32}},
				Initializers: map[string]*graph.Tensor{"two": graph.ScalarFloat32(2), "eps": graph.ScalarFloat32(1e-5)},
				Values:       map[string]*graph.Value{},
			}
			src := &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
			in := map[string]*graph.Tensor{"x": randF32(rng, c.shape...)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			// The variance's mean of the 4-D case is not a centring mean: only it may become a pool.
			ops := opTypes(m.Graph)
			if len(c.shape) == 3 || len(c.axes) == 1 {
				assert.Zero(t, st.Pools)
				assert.Equal(t, 2, ops["ReduceMean"])
			} else {
				assert.GreaterOrEqual(t, ops["ReduceMean"], 1, "the centring mean stays")
			}
			got := run(t, m, in)
			assert.InDeltaSlice(t, want["y"].F32(), got["y"].F32(), 1e-5)
		})
	}
}

// TestReduceMaxToGlobalPool: a ReduceMax over all spatial axes (4-D or 5-D)
// is a GlobalMaxPool (+ Flatten when keepdims is 0); over one spatial axis or
// the channels it stays.
func TestReduceMaxToGlobalPool(t *testing.T) {
	image, clip := []int{2, 5, 4, 3}, []int{2, 3, 4, 5, 6}
	for _, c := range []struct {
		name     string
		opset    int64
		shape    []int
		axes     []int64
		keepdims int64
		pooled   bool
	}{
		{"slicenet x.amax([2, 3])", 11, image, []int64{2, 3}, 0, true},
		{"keepdims, negative axes", 13, image, []int64{-2, -1}, 1, true},
		{"opset 18 axes input", 18, image, []int64{2, 3}, 0, true},
		{"clip", 13, clip, []int64{2, 3, 4}, 0, true},
		{"one spatial axis", 13, image, []int64{3}, 0, false},
		{"channels", 13, image, []int64{1}, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			src := reduceModel(rng, "ReduceMax", c.opset, c.shape, c.axes, c.keepdims)
			in := map[string]*graph.Tensor{"x": randF32(rng, c.shape...)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			if c.pooled {
				assert.Equal(t, 1, st.Pools, st.String())
				assert.Zero(t, ops["ReduceMax"])
				assert.Equal(t, 1, ops["GlobalMaxPool"])
			} else {
				assert.Zero(t, st.Pools, st.String())
				assert.Equal(t, 1, ops["ReduceMax"])
			}
			got := run(t, m, in)
			for name, w := range want {
				require.Equal(t, w.Shape, got[name].Shape, name)
				assert.Equal(t, w.F32(), got[name].F32(), name)
			}
		})
	}
}
