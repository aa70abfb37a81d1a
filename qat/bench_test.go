package qat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// BenchmarkTrainStep times one QAT step (forward, loss, backward, SGD update) of a
// bundled model on a batch of 64 synthetic images. WARBOY_QAT_BENCH_MODELS, a
// colon-separated list of ONNX files with a [N,1,28,28] input and 10 classes, adds
// models that are not bundled (the dwnet of scripts/make_qat_dwnet.py, for instance)
// under their base names.
func BenchmarkTrainStep(b *testing.B) {
	paths := []string{"../testdata/models/fmnist_cnn.onnx", "../testdata/models/fmnist_resnet.onnx", "../testdata/models/fmnist_mlp.onnx"}
	if extra := os.Getenv("WARBOY_QAT_BENCH_MODELS"); extra != "" {
		paths = append(paths, strings.Split(extra, ":")...)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".onnx")
		b.Run(name, func(b *testing.B) {
			n, x, labels := benchNet(b, path, 0)
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

// BenchmarkMicroBatchStep times one step of a batch of 64 synthetic images run
// whole and one image at a time with the gradients accumulated (Options.MicroBatch
// 1: how a model exported at batch 1 trains), SGD update included, one thread:
// the ratio is what training one sample at a time costs.
func BenchmarkMicroBatchStep(b *testing.B) {
	for _, name := range []string{"fmnist_mlp", "fmnist_cnn"} {
		for _, micro := range []int{0, 1} {
			b.Run(fmt.Sprintf("%s/micro=%d", name, micro), func(b *testing.B) {
				n, x, labels := benchNet(b, "../testdata/models/"+name+".onnx", 1)
				opts := Options{Batch: 64, MicroBatch: micro, Loss: "ce", Optimizer: "sgd"}
				opt := newOptimizer(opts)
				n.training, n.emaRanges = true, true
				var grad []float32
				var outGrads [][]float32
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, _, err := n.batchGrads(opts, x, labels, 784, nil, &grad, &outGrads); err != nil {
						b.Fatal(err)
					}
					opt.step(n.params, 1e-3, 1)
				}
			})
		}
	}
}

// benchNet is the net of the model at path with every range [-2, 6], and a batch
// of 64 synthetic 28x28 images with their labels.
func benchNet(b *testing.B, path string, threads int) (*Net, []float32, []int) {
	m, err := graph.Load(path)
	require.NoError(b, err)
	n, err := New(m, Config{Threads: threads})
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
	return n, x, labels
}
