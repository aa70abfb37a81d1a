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

// splitModel is YOLOv4-tiny's route: Split(x [1, 8, 5, 5]) on axis 1 into
// outputs a and b, then Relu of the ones named in read (the others unread).
func splitModel(opset int64, sizes []int64, read []string) *graph.Model {
	g := &graph.Graph{
		Name:         "split",
		Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(1, 8, 5, 5), HasShape: true}},
		Initializers: map[string]*graph.Tensor{},
		Values:       map[string]*graph.Value{},
	}
	sp := node("Split", []string{"x"}, []string{"a", "b"}, graph.IntAttr("axis", 1))
	if sizes != nil {
		if opset >= 13 {
			g.Initializers["sizes"] = graph.FromInt64([]int{len(sizes)}, sizes)
			sp.Inputs = append(sp.Inputs, "sizes")
		} else {
			sp.Attrs["split"] = graph.IntsAttr("split", []int{int(sizes[0]), int(sizes[1])})
		}
	}
	g.Nodes = append(g.Nodes, sp)
	for _, r := range read {
		g.Nodes = append(g.Nodes, node("Relu", []string{r}, []string{"y" + r}))
		g.Outputs = append(g.Outputs, &graph.Value{Name: "y" + r, DType: graph.Float32})
	}
	return &graph.Model{Graph: g, IRVersion: 8, Opsets: map[string]int64{"": opset}, Metadata: map[string]string{}}
}

func TestSplitToSlice(t *testing.T) {
	for _, c := range []struct {
		name   string
		opset  int64
		sizes  []int64
		read   []string
		slices int
	}{
		{"second half, sizes input (opset 13)", 13, []int64{4, 4}, []string{"b"}, 1},
		{"first of uneven, sizes attribute (opset 11)", 11, []int64{3, 5}, []string{"a"}, 1},
		{"second of uneven (opset 12)", 12, []int64{3, 5}, []string{"b"}, 1},
		{"even split without sizes", 13, nil, []string{"b"}, 1},
		{"both read: stays a Split", 13, []int64{4, 4}, []string{"a", "b"}, 0},
		{"opset 9: Slice has no bound inputs", 9, []int64{4, 4}, []string{"b"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(6))
			src := splitModel(c.opset, c.sizes, c.read)
			in := map[string]*graph.Tensor{"x": randF32(rng, 1, 8, 5, 5)}
			want := run(t, src, in)
			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			assert.Equal(t, c.slices, st.Splits, st.String())
			assert.Equal(t, c.slices, ops["Slice"])
			assert.Equal(t, 1-c.slices, ops["Split"])
			got := run(t, m, in)
			for _, r := range c.read {
				require.Equal(t, want["y"+r].Shape, got["y"+r].Shape)
				assert.Equal(t, want["y"+r].F32(), got["y"+r].F32())
			}
		})
	}
}
