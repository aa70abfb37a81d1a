package qat

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// torchReference is what a make_qat_*_testdata.py script stores beside its
// model: a batch of inputs, their labels, PyTorch's logits and its autograd
// gradients of the mean cross-entropy (for the input, and by ONNX initializer
// name for the weights when the script records them).
type torchReference struct {
	Shape      []int                `json:"input_shape"`
	Labels     []int                `json:"labels"`
	Input      []float32            `json:"input"`
	Logits     []float32            `json:"logits"`
	InputGrad  []float32            `json:"input_grad"`
	ParamGrads map[string][]float32 `json:"param_grads"`
}

// checkTorchReference runs testdata/models/NAME.onnx in float on the stored
// batch, compares the logits ([batch, classes]) and then the input's gradient of
// the cross-entropy with PyTorch's, and returns the net (its weights' gradients
// computed) and the reference.
func checkTorchReference(t *testing.T, name string, classes int) (*Net, torchReference) {
	t.Helper()
	var ref torchReference
	b, err := os.ReadFile("../testdata/models/" + name + ".json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &ref))
	m, err := graph.Load("../testdata/models/" + name + ".onnx")
	require.NoError(t, err)
	n, err := New(m, Config{FloatOnly: true, Threads: 2})
	require.NoError(t, err)
	n.inputGrad = true
	batch := ref.Shape[0]
	shape, y, err := n.Forward(ref.Input, batch)
	require.NoError(t, err)
	require.Equal(t, []int{batch, classes}, shape)
	for i, v := range ref.Logits {
		require.InDelta(t, v, y[i], 1e-4*(1+math.Abs(float64(v))), "logit %d", i)
	}
	grad := make([]float32, len(y))
	SoftmaxCrossEntropy(y, classes, ref.Labels, grad)
	n.ZeroGrad()
	n.Backward(grad)
	requireNearTorch(t, "d loss / d input", ref.InputGrad, n.vals[n.input].grad)
	return n, ref
}

// requireNearTorch compares a gradient with PyTorch's within 1e-4 of the
// largest of PyTorch's values.
func requireNearTorch(t *testing.T, what string, want, got []float32) {
	t.Helper()
	require.Len(t, got, len(want), what)
	var scale float64
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	require.Greater(t, scale, 1e-6, what)
	for i, v := range want {
		require.InDelta(t, v, got[i], 1e-4*scale, "%s[%d]", what, i)
	}
}

// TestTorchReferenceGradients runs a network written by torch.onnx that strings
// together the blocks of common torchvision CNNs (scripts/make_qat_ops_testdata.py:
// Hardswish, a Hardsigmoid SE gate, ceil_mode pooling, chunk and the x.size()-driven
// channel shuffle, BN-ReLU-Conv with cat, Pad, nearest Upsample, Tanh, a Softmax
// gate, mean, view) and compares the float forward pass and the gradient of the
// cross-entropy with respect to the input with PyTorch's autograd: every backward
// pass on the path, chained as the exporter wrote the graph.
func TestTorchReferenceGradients(t *testing.T) {
	checkTorchReference(t, "torch_cnn_blocks", 10)
}
