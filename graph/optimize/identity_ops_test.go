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

// TestTrainingDropoutOfRatioZero: torch.onnx writes F.dropout(x, p) without
// training=False as Dropout(x, ratio, training_mode=true) with Constant inputs; at
// ratio 0 it is the identity and goes, at any other ratio it stays.
func TestTrainingDropoutOfRatioZero(t *testing.T) {
	for _, c := range []struct {
		name    string
		ratio   *graph.Tensor // nil: no ratio input (0.5)
		mask    bool          // the mask output is a graph output
		removed bool
	}{
		{name: "ratio 0", ratio: graph.ScalarFloat32(0), removed: true},
		{name: "ratio 0, float64", ratio: &graph.Tensor{DType: graph.Float64, Data: []float64{0}}, removed: true},
		{name: "ratio 0.1", ratio: graph.ScalarFloat32(0.1)},
		{name: "default ratio", ratio: nil},
		{name: "ratio 0, mask read", ratio: graph.ScalarFloat32(0), mask: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(7))
			nodes := []*graph.Node{
				node("Constant", nil, []string{"train"}, tensorAttr(&graph.Tensor{DType: graph.Bool, Data: []bool{true}})),
				node("MatMul", []string{"x", "w"}, []string{"m"}),
			}
			drop := node("Dropout", []string{"m", "", "train"}, []string{"d"})
			if c.ratio != nil {
				nodes = append(nodes, node("Constant", nil, []string{"ratio"}, tensorAttr(c.ratio)))
				drop.Inputs[1] = "ratio"
			}
			outs := []*graph.Value{{Name: "y", DType: graph.Float32}}
			if c.mask {
				drop.Outputs = append(drop.Outputs, "mask")
				outs = append(outs, &graph.Value{Name: "mask", DType: graph.Bool})
			}
			nodes = append(nodes, drop, node("Relu", []string{"d"}, []string{"y"}))
			m := &graph.Model{Graph: &graph.Graph{
				Name: "drop", Nodes: nodes, Outputs: outs,
				Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(2, 3), HasShape: true}},
				Initializers: map[string]*graph.Tensor{"w": randF32(rng, 3, 4)}, Values: map[string]*graph.Value{},
			}, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
			in := map[string]*graph.Tensor{"x": randF32(rng, 2, 3)}
			var want map[string]*graph.Tensor
			if c.removed {
				want = run(t, cloneGraph(m), in)
			}
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			if c.removed {
				assert.Equal(t, 1, st.Identities, st.String())
				assert.Zero(t, ops["Dropout"])
				got := run(t, m, in)
				require.Equal(t, []int{2, 4}, got["y"].Shape)
				assert.Equal(t, want["y"].F32(), got["y"].F32())
			} else {
				assert.Equal(t, 1, ops["Dropout"], "a Dropout that may drop stays")
			}
		})
	}
}

// TestPadOfZeros: Swin's F.pad to a multiple of the window size pads nothing at
// 224x224, but its pads come out of Shape -> Gather -> Mod -> Concat; once folded
// the Pad is the identity and goes. A Pad that pads stays.
func TestPadOfZeros(t *testing.T) {
	for _, c := range []struct {
		name    string
		side    int // H and W of x; the pads are side mod 4 at the end of H and W
		mode    string
		removed bool
	}{
		{name: "pads folded to zeros", side: 8, removed: true},
		{name: "reflect, zeros", side: 4, mode: "reflect", removed: true},
		{name: "pads one", side: 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(8))
			pad := node("Pad", []string{"x", "pads"}, []string{"p"})
			if c.mode != "" {
				pad.SetAttrString("mode", c.mode)
			}
			m := &graph.Model{Graph: &graph.Graph{
				Name: "pad0",
				Nodes: []*graph.Node{
					node("Shape", []string{"x"}, []string{"shape"}),
					node("Gather", []string{"shape", "i3"}, []string{"w"}, intAttr("axis", 0)),
					node("Mod", []string{"w", "four"}, []string{"r"}),
					node("Concat", []string{"zeros6", "r", "r"}, []string{"pads"}, intAttr("axis", 0)),
					pad,
					node("Relu", []string{"p"}, []string{"y"}),
				},
				Inputs:  []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(1, 2, c.side, c.side), HasShape: true}},
				Outputs: []*graph.Value{{Name: "y", DType: graph.Float32}},
				Initializers: map[string]*graph.Tensor{
					"i3": graph.FromInt64([]int{1}, []int64{3}), "four": graph.FromInt64([]int{1}, []int64{4}),
					"zeros6": graph.FromInt64([]int{6}, make([]int64, 6)),
				},
				Values: map[string]*graph.Value{},
			}, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
			in := map[string]*graph.Tensor{"x": randF32(rng, 1, 2, c.side, c.side)}
			want := run(t, cloneGraph(m), in)
			_, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			ops := opTypes(m.Graph)
			if c.removed {
				assert.Equal(t, map[string]int{"Relu": 1}, ops)
			} else {
				assert.Equal(t, 1, ops["Pad"])
			}
			got := run(t, m, in)
			require.Equal(t, want["y"].Shape, got["y"].Shape)
			assert.Equal(t, want["y"].F32(), got["y"].F32())
		})
	}
}

// TestCastToSameType: a Cast to the type its input has goes (torch.onnx writes one
// between each QuantizeLinear and DequantizeLinear of a PyTorch-quantized model); a
// Cast that converts stays.
func TestCastToSameType(t *testing.T) {
	for _, c := range []struct {
		name    string
		to      graph.DType
		removed bool
	}{
		{name: "float32 to float32", to: graph.Float32, removed: true},
		{name: "float32 to float16", to: graph.Float16},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &graph.Model{Graph: &graph.Graph{
				Name: "cast",
				Nodes: []*graph.Node{
					node("Cast", []string{"x"}, []string{"c"}, intAttr("to", int64(c.to))),
					node("Cast", []string{"c"}, []string{"f"}, intAttr("to", int64(graph.Float32))),
					node("Relu", []string{"f"}, []string{"y"}),
				},
				Inputs:       []*graph.Value{{Name: "x", DType: graph.Float32, Shape: graph.ShapeOf(2, 3), HasShape: true}},
				Outputs:      []*graph.Value{{Name: "y", DType: graph.Float32}},
				Initializers: map[string]*graph.Tensor{},
				Values:       map[string]*graph.Value{},
			}, IRVersion: 8, Opsets: map[string]int64{"": 13}, Metadata: map[string]string{}}
			rng := rand.New(rand.NewSource(4))
			in := map[string]*graph.Tensor{"x": randF32(rng, 2, 3)}
			want := run(t, cloneGraph(m), in)
			_, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			if c.removed {
				assert.Equal(t, map[string]int{"Relu": 1}, opTypes(m.Graph))
				assert.Equal(t, "x", m.Graph.Nodes[0].Inputs[0])
			} else {
				assert.Equal(t, map[string]int{"Cast": 2, "Relu": 1}, opTypes(m.Graph))
			}
			assert.Equal(t, want["y"].F32(), run(t, m, in)["y"].F32())
		})
	}
}
