package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestMaxPoolIndicesReadFloat checks a SegNet stage (Conv → Relu → MaxPool with
// Indices → MaxUnpool): the tensors the MaxPool reads, back to the Conv that
// computes them, stay float32 (that Conv runs in float32), so the indices are
// float32's. With them int8, positions whose values round to one code
// tie and the first wins (--unseen10's paddle_unpool_op11: 20.4 dB from float32).
func TestMaxPoolIndicesReadFloat(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	k := func(n *graph.Node) {
		n.SetAttrInts("kernel_shape", []int64{2, 2})
		n.SetAttrInts("strides", []int64{2, 2})
	}
	m := newModel("x", []int{1, 4, 8, 8}, []string{"y"}, []*graph.Node{
		node("Conv", []string{"x", "w"}, []string{"c"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c"}, []string{"r"}),
		node("MaxPool", []string{"r"}, []string{"p", "idx"}, k),
		node("Conv", []string{"p", "w2"}, []string{"c2"}, ints("kernel_shape", 1, 1)),
		node("MaxUnpool", []string{"c2", "idx"}, []string{"u"}, k),
		node("Conv", []string{"u", "w3"}, []string{"y"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
	}, map[string]*graph.Tensor{"w": randTensor(rng, []int{8, 4, 3, 3}, 0.3), "w2": randTensor(rng, []int{8, 8, 1, 1}, 0.3),
		"w3": randTensor(rng, []int{2, 8, 3, 3}, 0.3)})
	feed := map[string]*graph.Tensor{"x": randTensor(rng, []int{2, 4, 8, 8}, 1)}
	q, err := Quantize(m, rangesFromData(t, m, feed), QuantOptions{})
	require.NoError(t, err)
	quantized := dequantizedNames(q)
	assert.False(t, quantized["r"], "the pooled tensor stays float32")
	assert.False(t, quantized["c"], "and what computes it")
	assert.Greater(t, int8AgainstFloatDB(t, m, q, feed, "y"), 30.0, "int8 against float32, dB")
}
