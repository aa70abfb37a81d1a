package quantizer

import (
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

func i64(shape []int, v ...int64) *graph.Tensor { return graph.FromInt64(shape, v) }

// symbolicModel is newModel with every dimension but the last symbolic when spatial.
func symbolicModel(input string, shape []int, spatial bool, outputs []string, nodes []*graph.Node, inits map[string]*graph.Tensor) *graph.Model {
	m := newModel(input, shape, outputs, nodes, inits)
	if spatial {
		in := m.Graph.Inputs[0]
		in.Shape[2] = graph.Dim{Size: -1, Param: "H"}
		in.Shape[3] = graph.Dim{Size: -1, Param: "W"}
	}
	return m
}

func withOpset(v int64, m *graph.Model) *graph.Model {
	m.Opsets[""] = v
	return m
}

// exportedOpModels are operators as torch.onnx writes them in detector and
// transformer exports, each after a convolution or matmul so that its input is an
// int8 activation.
func exportedOpModels(rng *rand.Rand) []struct {
	name  string
	m     *graph.Model
	shape []int
} {
	conv := func(out string) *graph.Node {
		return node("Conv", []string{"x", "cw", "cb"}, []string{out}, ints("pads", 1, 1, 1, 1))
	}
	convInits := func(more map[string]*graph.Tensor) map[string]*graph.Tensor {
		m := map[string]*graph.Tensor{"cw": randTensor(rng, []int{4, 3, 3, 3}, 0.3), "cb": randTensor(rng, []int{4}, 0.1)}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	empty := graph.FromFloat32([]int{0}, nil)
	return []struct {
		name  string
		m     *graph.Model
		shape []int
	}{
		{"resize linear to constant sizes", newModel("x", []int{1, 3, 6, 8}, []string{"y"}, []*graph.Node{
			conv("c"),
			node("Resize", []string{"c", "", "", "sizes"}, []string{"y"}, func(n *graph.Node) { n.SetAttrString("mode", "linear") }),
		}, convInits(map[string]*graph.Tensor{"sizes": i64([]int{4}, 2, 4, 11, 16)})), []int{2, 3, 6, 8}},
		{"resize linear by scales, align_corners", newModel("x", []int{1, 3, 6, 8}, []string{"y"}, []*graph.Node{
			conv("c"),
			node("Resize", []string{"c", "roi", "scales"}, []string{"y"}, func(n *graph.Node) {
				n.SetAttrString("mode", "linear")
				n.SetAttrString("coordinate_transformation_mode", "align_corners")
			}),
		}, convInits(map[string]*graph.Tensor{"roi": empty, "scales": graph.FromFloat32([]int{4}, []float32{1, 1, 2, 2})})), []int{2, 3, 6, 8}},
		// sizes read from the input's symbolic height and width, as F.interpolate(size=t.shape[-2:]) writes.
		{"resize linear to sizes from a shape subgraph", symbolicModel("x", []int{1, 3, 6, 8}, true, []string{"y"}, []*graph.Node{
			conv("c"),
			node("Shape", []string{"c"}, []string{"s"}),
			node("Slice", []string{"s", "s0", "s2", "s0"}, []string{"nc"}),
			node("Slice", []string{"s", "s2", "s4", "s0"}, []string{"hw"}),
			node("Mul", []string{"hw", "two"}, []string{"hw2"}),
			node("Concat", []string{"nc", "hw2"}, []string{"sizes"}, intAttr("axis", 0)),
			node("Resize", []string{"c", "", "", "sizes"}, []string{"y"}, func(n *graph.Node) { n.SetAttrString("mode", "linear") }),
		}, convInits(map[string]*graph.Tensor{"s0": i64([]int{1}, 0), "s2": i64([]int{1}, 2), "s4": i64([]int{1}, 4), "two": i64([]int{1}, 2)})), []int{2, 3, 6, 8}},
		// a BatchNormalization that cannot be folded (a ReLU is between it and the conv).
		{"batchnorm after relu", newModel("x", []int{1, 3, 6, 8}, []string{"y"}, []*graph.Node{
			conv("c"),
			node("Relu", []string{"c"}, []string{"r"}),
			node("BatchNormalization", []string{"r", "bs", "bb", "bm", "bv"}, []string{"y"}),
		}, convInits(map[string]*graph.Tensor{"bs": randPositive(rng, []int{4}), "bb": randTensor(rng, []int{4}, 0.2),
			"bm": randTensor(rng, []int{4}, 0.2), "bv": randPositive(rng, []int{4})})), []int{2, 3, 6, 8}},
		// Squeeze/Unsqueeze with axes as attributes (opset < 13) and as inputs (13).
		{"squeeze unsqueeze attribute form, opset 11", withOpset(11, newModel("x", []int{1, 3, 1, 8}, []string{"y"}, []*graph.Node{
			node("Conv", []string{"x", "cw1", "cb"}, []string{"c"}, ints("pads", 0, 1, 0, 1)),
			node("Squeeze", []string{"c"}, []string{"s"}, ints("axes", 2)),
			node("Unsqueeze", []string{"s"}, []string{"y"}, ints("axes", 3)),
		}, convInits(map[string]*graph.Tensor{"cw1": randTensor(rng, []int{4, 3, 1, 3}, 0.3)}))), []int{2, 3, 1, 8}},
		{"squeeze unsqueeze input form, opset 13", newModel("x", []int{1, 3, 1, 8}, []string{"y"}, []*graph.Node{
			node("Conv", []string{"x", "cw1", "cb"}, []string{"c"}, ints("pads", 0, 1, 0, 1)),
			node("Squeeze", []string{"c", "ax2"}, []string{"s"}),
			node("Unsqueeze", []string{"s", "ax3"}, []string{"y"}),
		}, convInits(map[string]*graph.Tensor{"cw1": randTensor(rng, []int{4, 3, 1, 3}, 0.3), "ax2": i64([]int{1}, 2), "ax3": i64([]int{1}, 3)})), []int{2, 3, 1, 8}},
		// opset 9 Upsample (the quantizer upgrades it to Resize).
		{"upsample opset 9", withOpset(9, newModel("x", []int{1, 3, 6, 8}, []string{"y"}, []*graph.Node{
			conv("c"),
			node("Upsample", []string{"c", "scales"}, []string{"y"}, func(n *graph.Node) { n.SetAttrString("mode", "linear") }),
		}, convInits(map[string]*graph.Tensor{"scales": graph.FromFloat32([]int{4}, []float32{1, 1, 2, 2})}))), []int{2, 3, 6, 8}},
		// q.reshape(n, t, heads, d/heads) with n, t read at run time.
		{"reshape to a shape computed at run time", newModel("x", []int{1, 5, 16}, []string{"y"}, []*graph.Node{
			node("MatMul", []string{"x", "w"}, []string{"h"}),
			node("Shape", []string{"h"}, []string{"s"}),
			node("Gather", []string{"s", "i0"}, []string{"n"}, intAttr("axis", 0)),
			node("Gather", []string{"s", "i1"}, []string{"t"}, intAttr("axis", 0)),
			node("Unsqueeze", []string{"n", "ax0"}, []string{"n1"}),
			node("Unsqueeze", []string{"t", "ax0"}, []string{"t1"}),
			node("Concat", []string{"n1", "t1", "hd"}, []string{"shape"}, intAttr("axis", 0)),
			node("Reshape", []string{"h", "shape"}, []string{"r"}),
			node("Transpose", []string{"r"}, []string{"y"}, ints("perm", 0, 2, 1, 3)),
		}, map[string]*graph.Tensor{"w": randTensor(rng, []int{16, 16}, 0.3), "i0": i64(nil, 0), "i1": i64(nil, 1),
			"ax0": i64([]int{1}, 0), "hd": i64([]int{2}, 4, 4)}), []int{3, 5, 16}},
	}
}

// TestExportedOpsRunInt8: Resize (linear, by scales or sizes, sizes from a shape
// subgraph) and Reshape to a run-time shape run int8 (shape subgraphs are reported as
// shape computations, not float islands), agree with the float model within
// quantization tolerance and with ONNX Runtime within one output step.
func TestExportedOpsRunInt8(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	dir := t.TempDir()
	for i, c := range exportedOpModels(rng) {
		t.Run(c.name, func(t *testing.T) {
			in := map[string]*graph.Tensor{"x": randTensor(rng, c.shape, 1)}
			q, err := Quantize(c.m, rangesFromData(t, c.m, in), QuantOptions{})
			require.NoError(t, err)
			s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8), runtime.WithWarnings(func(w string) { t.Error(w) }))
			require.NoError(t, err)
			for _, p := range s.Placement {
				assert.True(t, p.Int8 || p.Shape, "%s (%s) runs float32", p.Node, p.OpType)
			}
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			ref := runFloat(t, c.m, in)["y"].F32()
			qs := outputScale(t, q, "y")
			require.Equal(t, len(ref), len(got["y"].F32()))
			assert.LessOrEqual(t, maxAbsDiff(got["y"].F32(), ref), 3*qs, "int8 vs float")
			qref := runFloat(t, q, in)["y"].F32()
			assert.LessOrEqual(t, maxAbsDiff(got["y"].F32(), qref), 1.01*qs, "int8 vs the QDQ graph in float")
			if err := ortoracle.Available(); err != nil {
				t.Logf("ONNX Runtime oracle not installed: %v", err)
				return
			}
			path := filepath.Join(dir, string(rune('a'+i))+".onnx")
			require.NoError(t, q.Save(path))
			ort, err := ortoracle.Run(path, in, 1)
			require.NoError(t, err)
			d := maxAbsDiff(got["y"].F32(), ort["y"].F32())
			off := 0
			for k, v := range got["y"].F32() {
				if math.Abs(float64(v-ort["y"].F32()[k])) > qs/2 {
					off++
				}
			}
			t.Logf("max |int8 - ONNX Runtime| = %.4g (%.2f output steps); %d of %d values differ", d, d/qs, off, len(ref))
			assert.LessOrEqual(t, d, 1.01*qs, "int8 vs ONNX Runtime")
		})
	}
}
