package qat

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// blockNet builds the architecture blocks of common CNNs on a 1x28x28 input with 10
// classes: the operators beyond the bundled models' set, arranged as the exporters
// write them.
type blockNet struct {
	*testmodels.Builder
}

func newBlockNet(seed int64) blockNet {
	b := blockNet{testmodels.New(seed)}
	b.Input("input", graph.Dim{Size: -1, Param: "N"}, graph.Dim{Size: 1}, graph.Dim{Size: 28}, graph.Dim{Size: 28})
	return b
}

// conv adds a Conv with He-initialised weights and a zero bias.
func (b blockNet) conv(x string, cin, cout, k, stride, group int) string {
	a := float32(math.Sqrt(6 / float64(cin/group*k*k)))
	w := b.RandInit("w", []int{cout, cin / group, k, k}, a)
	bias := b.Init("b", graph.FromFloat32([]int{cout}, make([]float32, cout)))
	p := int64(k / 2)
	return b.Node("Conv", []string{x, w, bias}, ints("pads", p, p, p, p), ints("strides", int64(stride), int64(stride)), intAttr("group", int64(group)))
}

// bn adds an inference-mode BatchNormalization with random statistics.
func (b blockNet) bn(x string, c int) string {
	g := make([]float32, c)
	v := make([]float32, c)
	for i := range g {
		g[i] = 0.8 + 0.4*b.Rng.Float32()
		v[i] = 0.5 + b.Rng.Float32()
	}
	return b.Node("BatchNormalization", []string{x, b.Init("g", graph.FromFloat32([]int{c}, g)), b.RandInit("be", []int{c}, 0.1),
		b.RandInit("mu", []int{c}, 0.1), b.Init("var", graph.FromFloat32([]int{c}, v))})
}

func (b blockNet) head(x string, c int) *graph.Model {
	w := b.RandInit("fc", []int{10, c}, float32(math.Sqrt(6/float64(c))))
	out := b.Node("Gemm", []string{x, w, b.Init("fcb", graph.FromFloat32([]int{10}, make([]float32, 10)))}, intAttr("transB", 1))
	b.G.Nodes[len(b.G.Nodes)-1].Outputs[0] = "logits"
	_ = out
	b.Output("logits")
	return b.Model()
}

func scalar(b blockNet, v float32) string { return b.Init("k", graph.ScalarFloat32(v)) }

// mobileNetV3Block: HardSwish stem (as PyTorch exports it: x * HardSigmoid(x)), a
// depthwise conv with BN, a squeeze-and-excitation gate with HardSigmoid, a HardSwish
// projection.
func mobileNetV3Block() *graph.Model {
	b := newBlockNet(11)
	x := b.bn(b.conv("input", 1, 8, 3, 2, 1), 8)
	x = b.Node("Mul", []string{x, b.Node("HardSigmoid", []string{x}, floatAttr("alpha", 1.0/6))})
	x = b.Node("Relu", []string{b.bn(b.conv(x, 8, 8, 3, 1, 8), 8)})
	s := b.Node("GlobalAveragePool", []string{x})
	s = b.Node("Relu", []string{b.conv(s, 8, 4, 1, 1, 1)})
	s = b.Node("HardSigmoid", []string{b.conv(s, 4, 8, 1, 1, 1)}, floatAttr("alpha", 1.0/6))
	x = b.Node("Mul", []string{x, s})
	x = b.Node("HardSwish", []string{b.bn(b.conv(x, 8, 16, 1, 2, 1), 16)})
	x = b.Node("Flatten", []string{b.Node("GlobalAveragePool", []string{x})})
	return b.head(x, 16)
}

// denseNetBlock: pre-activation BN-ReLU-Conv dense layers concatenated on channels,
// a transition with average pooling, a zero Pad.
func denseNetBlock() *graph.Model {
	b := newBlockNet(12)
	x := b.conv("input", 1, 8, 3, 2, 1)
	c := 8
	for i := 0; i < 2; i++ {
		y := b.conv(b.Node("Relu", []string{b.bn(x, c)}), c, 4, 3, 1, 1)
		x = b.Node("Concat", []string{x, y}, intAttr("axis", 1))
		c += 4
	}
	x = b.conv(b.Node("Relu", []string{b.bn(x, c)}), c, 8, 1, 1, 1)
	x = b.Node("Pad", []string{x, b.Init("pads", graph.FromInt64([]int{8}, []int64{0, 0, 0, 0, 0, 0, 1, 1}))})
	x = b.Node("AveragePool", []string{x}, ints("kernel_shape", 2, 2), ints("strides", 2, 2))
	x = b.Node("Relu", []string{b.bn(x, 8)})
	x = b.Node("Flatten", []string{b.Node("GlobalAveragePool", []string{x})})
	return b.head(x, 8)
}

// shuffleNetBlock: ShuffleNetV2 units: channels split (Split, and Slice as
// torch.chunk exports it), one half through 1x1/depthwise/1x1 convs, Concat, channel
// shuffle as Reshape-Transpose-Reshape; MaxPool with ceil_mode; a ReduceMean head.
func shuffleNetBlock() *graph.Model {
	b := newBlockNet(13)
	x := b.Node("Relu", []string{b.conv("input", 1, 8, 3, 2, 1)})
	x = b.Node("MaxPool", []string{x}, ints("kernel_shape", 3, 3), ints("strides", 2, 2), intAttr("ceil_mode", 1)) // 14 -> 7
	shuffle := func(x string) string {
		r := b.Node("Reshape", []string{x, b.Init("s", graph.FromInt64([]int{5}, []int64{-1, 2, 4, 7, 7}))})
		t := b.Node("Transpose", []string{r}, ints("perm", 0, 2, 1, 3, 4))
		return b.Node("Reshape", []string{t, b.Init("s", graph.FromInt64([]int{4}, []int64{-1, 8, 7, 7}))})
	}
	branch := func(x string) string {
		y := b.Node("Relu", []string{b.bn(b.conv(x, 4, 4, 1, 1, 1), 4)})
		y = b.bn(b.conv(y, 4, 4, 3, 1, 4), 4)
		return b.Node("Relu", []string{b.bn(b.conv(y, 4, 4, 1, 1, 1), 4)})
	}
	// unit 1: Split
	sa, sb := b.Name("split_a"), b.Name("split_b")
	b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: b.Name("Split"), OpType: "Split", Inputs: []string{x, b.Init("sp", graph.FromInt64([]int{2}, []int64{4, 4}))},
		Outputs: []string{sa, sb}, Attrs: map[string]*graph.Attr{"axis": intAttr("axis", 1)}})
	x = shuffle(b.Node("Concat", []string{sa, branch(sb)}, intAttr("axis", 1)))
	// unit 2: Slice
	sl := func(lo, hi int64) string {
		return b.Node("Slice", []string{x, b.Init("st", graph.FromInt64([]int{1}, []int64{lo})), b.Init("en", graph.FromInt64([]int{1}, []int64{hi})),
			b.Init("ax", graph.FromInt64([]int{1}, []int64{1}))})
	}
	x = shuffle(b.Node("Concat", []string{sl(0, 4), branch(sl(4, 8))}, intAttr("axis", 1)))
	x = b.Node("ReduceMean", []string{x}, ints("axes", 2, 3), intAttr("keepdims", 0))
	return b.head(x, 8)
}

// miscBlock: a normalisation inside the model (Sub/Div by constants), Tanh, a
// channel Softmax gate, nearest upsampling added back to a skip connection.
func miscBlock() *graph.Model {
	b := newBlockNet(14)
	x := b.Node("Div", []string{b.Node("Sub", []string{"input", scalar(b, 0.286)}), scalar(b, 0.353)})
	x = b.Node("Tanh", []string{b.conv(x, 1, 8, 3, 2, 1)})  // 14x14
	d := b.Node("Relu", []string{b.conv(x, 8, 8, 3, 2, 1)}) // 7x7
	u := b.Node("Resize", []string{d, "", b.Init("sc", graph.FromFloat32([]int{4}, []float32{1, 1, 2, 2}))},
		&graph.Attr{Name: "coordinate_transformation_mode", Type: graph.AttrString, S: "asymmetric"},
		&graph.Attr{Name: "nearest_mode", Type: graph.AttrString, S: "floor"})
	x = b.Node("Add", []string{x, u})
	g := b.Node("Softmax", []string{b.conv(x, 8, 8, 1, 1, 1)}, intAttr("axis", 1))
	x = b.Node("Mul", []string{x, g})
	x = b.Node("Flatten", []string{b.Node("GlobalAveragePool", []string{x})})
	return b.head(x, 8)
}

// torchBlocks is the network of TestTorchReferenceGradients as torch.onnx wrote it.
func torchBlocks(t *testing.T) *graph.Model {
	m, err := graph.Load("../testdata/models/torch_cnn_blocks.onnx")
	require.NoError(t, err)
	return m
}

// TestBlocksTrainAndExport trains each block on Fashion-MNIST with fake quantization:
// the loss goes down, and the exported QDQ model on the int8 runtime computes what the
// fake-quantized forward pass computes (as TestExportMatchesInt8Runtime).
func TestBlocksTrainAndExport(t *testing.T) {
	train, err := dataset.Load("../testdata/fashion-mnist", "train")
	require.NoError(t, err)
	test, err := dataset.Load("../testdata/fashion-mnist", "t10k")
	require.NoError(t, err)
	models := []struct {
		name string
		m    *graph.Model
	}{
		{"MobileNetV3 block", mobileNetV3Block()},
		{"DenseNet block", denseNetBlock()},
		{"ShuffleNet block", shuffleNetBlock()},
		{"normalisation, Tanh, Softmax gate, Resize", miscBlock()},
		{"torch.onnx export of the blocks", torchBlocks(t)},
	}
	for _, tc := range models {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New(tc.m, Config{Threads: 2})
			require.NoError(t, err)
			calibrateNet(t, n, tc.m, train, 200)
			epochs := 3
			if testing.Short() {
				epochs = 2
			}
			stats, err := n.Fit(dsData{train, 256}, Options{Epochs: epochs, Batch: 32, LR: 0.05, Seed: 1, Schedule: "constant", FreezeBNAfter: -1})
			require.NoError(t, err)
			require.Len(t, stats, epochs)
			for _, s := range stats {
				t.Logf("epoch %d: loss %.4f, train accuracy %.3f", s.Epoch, s.Loss, s.Accuracy)
				require.False(t, math.IsNaN(s.Loss))
			}
			require.Less(t, stats[epochs-1].Loss, stats[0].Loss, "the loss decreases")

			const N = 100
			checkExportMatchesFakeQuant(t, n, test.Batch(0, N), N)
		})
	}
}
