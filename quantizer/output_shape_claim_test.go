package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestQuantizedOutputKeepsNoSymbolicClaim checks that the internal tensor a
// quantized graph output is renamed to (NAME_QuantizeLinear_Input) carries only
// the fixed sizes of the output's declared shape: the declared symbolic names are
// the exporter's dynamic_axes (--unseen10's realesrgan_x2_dynhw_op11 names its
// doubled output sizes like its input's), and written on an internal tensor
// ONNX Runtime planned a buffer by them and refused the file.
func TestQuantizedOutputKeepsNoSymbolicClaim(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	// The output doubles the symbolic batch (Tile), and its file says it has the
	// input's size "N".
	m := newModel("x", []int{1, 4}, []string{"y"}, []*graph.Node{
		node("MatMul", []string{"x", "w"}, []string{"mm"}),
		node("Tile", []string{"mm", "reps"}, []string{"t"}),
		node("MatMul", []string{"t", "w2"}, []string{"y"}),
	}, map[string]*graph.Tensor{"w": randTensor(rng, []int{4, 8}, 0.5), "w2": randTensor(rng, []int{8, 8}, 0.5),
		"reps": graph.FromInt64([]int{2}, []int64{2, 1})})
	m.Graph.Outputs[0].DType = graph.Float32
	m.Graph.Outputs[0].Shape = graph.Shape{{Size: -1, Param: "N"}, {Size: 8}}
	m.Graph.Outputs[0].HasShape = true
	m.Graph.Values["y"] = m.Graph.Outputs[0] // as loading a file records it
	feed := map[string]*graph.Tensor{"x": randTensor(rng, []int{3, 4}, 1)}
	q, err := Quantize(m, rangesFromData(t, m, feed), QuantOptions{})
	require.NoError(t, err)
	pre := q.Graph.Values["y_QuantizeLinear_Input"]
	require.NotNil(t, pre, "the MatMul's output is quantized under a new name")
	assert.Equal(t, graph.Shape{{Size: -1}, {Size: 8}}, pre.Shape, "fixed sizes kept, the symbolic name dropped")
	for _, o := range q.Graph.Outputs {
		if o.Name == "y" {
			assert.Equal(t, "N", o.Shape[0].Param, "the graph output keeps its declared shape")
		}
	}
}
