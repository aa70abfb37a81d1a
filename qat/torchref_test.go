package qat

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestTorchReferenceGradients runs a network written by torch.onnx that strings
// together the blocks of common torchvision CNNs (scripts/make_qat_ops_testdata.py:
// Hardswish, a Hardsigmoid SE gate, ceil_mode pooling, chunk and the x.size()-driven
// channel shuffle, BN-ReLU-Conv with cat, Pad, nearest Upsample, Tanh, a Softmax
// gate, mean, view) and compares the float forward pass and the gradient of the
// cross-entropy with respect to the input with PyTorch's autograd: every backward
// pass on the path, chained as the exporter wrote the graph.
func TestTorchReferenceGradients(t *testing.T) {
	var ref struct {
		Shape     []int     `json:"input_shape"`
		Labels    []int     `json:"labels"`
		Input     []float32 `json:"input"`
		Logits    []float32 `json:"logits"`
		InputGrad []float32 `json:"input_grad"`
	}
	b, err := os.ReadFile("../testdata/models/torch_cnn_blocks.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &ref))
	m, err := graph.Load("../testdata/models/torch_cnn_blocks.onnx")
	require.NoError(t, err)
	n, err := New(m, Config{FloatOnly: true, Threads: 2})
	require.NoError(t, err)
	n.inputGrad = true
	batch := ref.Shape[0]
	shape, y, err := n.Forward(ref.Input, batch)
	require.NoError(t, err)
	require.Equal(t, []int{batch, 10}, shape)
	for i, v := range ref.Logits {
		require.InDelta(t, v, y[i], 1e-4*(1+math.Abs(float64(v))), "logit %d", i)
	}
	grad := make([]float32, len(y))
	SoftmaxCrossEntropy(y, 10, ref.Labels, grad)
	n.Backward(grad)
	g := n.vals[n.input].grad
	var maxRef float64
	for _, v := range ref.InputGrad {
		maxRef = math.Max(maxRef, math.Abs(float64(v)))
	}
	require.Greater(t, maxRef, 1e-6)
	for i, v := range ref.InputGrad {
		require.InDelta(t, v, g[i], 1e-4*maxRef, "d loss / d input[%d]", i)
	}
}
