package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A Loop-carried value that grows every iteration while the body declares the
// traced first shape ([0, 2]), as torch.onnx writes torchvision's
// paste_masks_in_image (Mask R-CNN). Before, the second iteration failed with
// `input "acc": got shape [1,2], model expects [0,2]`; ONNX Runtime runs it.
func TestLoopCarriedValueChangesShape(t *testing.T) {
	attrs := func(kv ...*graph.Attr) map[string]*graph.Attr {
		m := map[string]*graph.Attr{}
		for _, a := range kv {
			m[a.Name] = a
		}
		return m
	}
	body := &graph.Graph{Name: "body",
		Initializers: map[string]*graph.Tensor{},
		Values:       map[string]*graph.Value{},
		Inputs: []*graph.Value{
			{Name: "i", DType: graph.Int64, HasShape: true},
			{Name: "cond", DType: graph.Bool, HasShape: true},
			{Name: "acc", DType: graph.Float32, HasShape: true, Shape: graph.ShapeOf(0, 2)},
		},
		Nodes: []*graph.Node{
			{Name: "cast", OpType: "Cast", Inputs: []string{"i"}, Outputs: []string{"fi"}, Attrs: attrs(&graph.Attr{Name: "to", Type: graph.AttrInt, I: int64(graph.Float32)})},
			{Name: "row", OpType: "Mul", Inputs: []string{"base", "fi"}, Outputs: []string{"r"}, Attrs: attrs()},
			{Name: "grow", OpType: "Concat", Inputs: []string{"acc", "r"}, Outputs: []string{"acc_out"}, Attrs: attrs(&graph.Attr{Name: "axis", Type: graph.AttrInt, I: 0})},
			{Name: "keep", OpType: "Identity", Inputs: []string{"cond"}, Outputs: []string{"cond_out"}, Attrs: attrs()},
		},
		Outputs: []*graph.Value{{Name: "cond_out", DType: graph.Bool}, {Name: "acc_out", DType: graph.Float32}},
	}
	loop := &graph.Node{Name: "paste", OpType: "Loop", Inputs: []string{"n", "", "init"}, Outputs: []string{"y"},
		Attrs: attrs(&graph.Attr{Name: "body", Type: graph.AttrGraph, G: body})}
	g := &graph.Graph{
		Initializers: map[string]*graph.Tensor{
			"init": graph.NewTensor(graph.Float32, []int{0, 2}),
			"base": graph.FromFloat32([]int{1, 2}, []float32{1, 10}),
		},
		Values:  map[string]*graph.Value{},
		Inputs:  []*graph.Value{{Name: "n", DType: graph.Int64, HasShape: true}},
		Outputs: []*graph.Value{{Name: "y", DType: graph.Float32}},
		Nodes:   []*graph.Node{loop},
	}
	m := &graph.Model{Graph: g, Opsets: map[string]int64{"": 13}, IRVersion: 8}
	s, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
	require.NoError(t, err)
	for _, n := range []int64{0, 1, 3} {
		out, err := s.RunTensors(map[string]*graph.Tensor{"n": graph.FromInt64(nil, []int64{n})})
		require.NoError(t, err, "trip count %d", n)
		y := out["y"]
		require.Equal(t, []int{int(n), 2}, y.Shape, "trip count %d", n)
		want := make([]float32, 0, 2*n)
		for i := int64(0); i < n; i++ {
			want = append(want, float32(i), 10*float32(i))
		}
		assert.Equal(t, want, append([]float32{}, y.F32()...), "trip count %d", n)
	}
}
