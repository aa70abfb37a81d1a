package qat

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// BenchmarkTrainStep times one QAT step (forward, loss, backward, SGD update) of a
// bundled model on a batch of 64 synthetic images.
func BenchmarkTrainStep(b *testing.B) {
	for _, name := range []string{"fmnist_cnn", "fmnist_resnet", "fmnist_mlp"} {
		b.Run(name, func(b *testing.B) {
			m, err := graph.Load("../testdata/models/" + name + ".onnx")
			require.NoError(b, err)
			n, err := New(m, Config{})
			require.NoError(b, err)
			r := quantizer.Ranges{}
			for k := range n.ranges {
				r[k] = [2]float32{-2, 6}
			}
			require.NoError(b, n.SetRanges(r))
			x := make([]float32, 64*784)
			for i := range x {
				x[i] = float32(i*7%255) / 255
			}
			labels := make([]int, 64)
			for i := range labels {
				labels[i] = i % 10
			}
			opt := newOptimizer(Options{Optimizer: "sgd"})
			n.training = true
			grad := make([]float32, 64*10)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, logits, err := n.Forward(x, 64)
				require.NoError(b, err)
				SoftmaxCrossEntropy(logits, 10, labels, grad)
				n.ZeroGrad()
				n.Backward(grad)
				opt.step(n.params, 1e-3, 0)
			}
		})
	}
}
