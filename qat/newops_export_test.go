package qat

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
)

// randomSamples returns k normal values.
func randomSamples(rng *rand.Rand, k int) []float32 {
	x := make([]float32, k)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// TestNewerOpsTrainAndExport: classifiers built of the operators ONNX added after
// opset 13 (GroupNormalization and Mish at 18, Gelu at 20, as paddle2onnx and newer
// exporters write them) train with the cross-entropy, and the QDQ model each writes
// computes on the int8 runtime what the fake-quantized net computed.
func TestNewerOpsTrainAndExport(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.4, shape...) }
	for _, tc := range []struct {
		name  string
		opset int64
		act   *graph.Node
	}{
		{"GroupNormalization, Mish (opset 18)", 18, node("Mish", []string{"g"}, "a")},
		{"GroupNormalization, Gelu (opset 20)", 20, node("Gelu", []string{"g"}, "a")},
		{"GroupNormalization, Gelu tanh (opset 20)", 20, node("Gelu", []string{"g"}, "a", strAttr("approximate", "tanh"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel{[]int{1, 8, 8}, []*graph.Node{
				node("Conv", []string{"x", "w1", "b1"}, "c", ints("pads", 1, 1, 1, 1)),
				node("GroupNormalization", []string{"c", "s", "be"}, "g", intAttr("num_groups", 4)),
				tc.act,
				node("Conv", []string{"a", "w2", "b2"}, "c2", ints("strides", 2, 2)),
				node("Relu", []string{"c2"}, "r"),
				node("GlobalAveragePool", []string{"r"}, "p"),
				node("Flatten", []string{"p"}, "f"),
				node("Gemm", []string{"f", "wf", "bf"}, "y", intAttr("transB", 1)),
			}, map[string]*graph.Tensor{"w1": w(8, 1, 3, 3), "b1": w(8), "s": w(4), "be": w(4),
				"w2": w(12, 8, 3, 3), "b2": w(12), "wf": w(5, 12), "bf": w(5)}}.model()
			m.Opsets[""] = tc.opset
			m.Graph.Outputs[0].Shape, m.Graph.Outputs[0].HasShape = graph.Shape{{Size: -1, Param: "N"}, {Size: 5}}, true
			shape := []int{1, 8, 8}
			n, err := New(m, Config{Threads: 2})
			require.NoError(t, err)
			data := randomLabelled{randomBatches{"x", shape, 64, 7}, 5}
			setCalibratedRanges(t, n, data)
			stats, err := n.Fit(data, Options{LR: 0.01, Batch: 16, Epochs: 2, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
			require.NoError(t, err)
			require.False(t, math.IsNaN(stats[1].Loss))

			q, err := n.Export(quantizer.QuantOptions{})
			require.NoError(t, err)
			ops := map[string]int{}
			for _, nd := range q.Graph.Nodes {
				ops[nd.OpType]++
			}
			t.Logf("written: %v", ops)
			require.GreaterOrEqual(t, ops["QuantizeLinear"], 4, "activations quantized")
			require.Equal(t, 1, ops["GroupNormalization"])
			require.Equal(t, 1, ops[tc.act.OpType])
			x := randomSamples(rng, 4*numel(shape))
			sqnr := exportSQNR(t, n, x, 4, map[string]*graph.Tensor{"x": graph.FromFloat32(append([]int{4}, shape...), x)}, "y")
			t.Logf("fake-quantized training forward against the int8 runtime: %.1f dB", sqnr)
			require.Greater(t, sqnr, 30.0)
		})
	}
}

// TestConv1dTrainsAndExports: a 1-D CNN (Conv1d with BatchNorm1d folded during
// training, a strided depthwise Conv1d, a ConvTranspose1d upsampling back, as audio
// encoders and decoders are) trains, and
// the written QDQ model computes on the int8 runtime what the fake-quantized net
// computed.
func TestConv1dTrainsAndExports(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.4, shape...) }
	pos := func(c int) *graph.Tensor {
		v := make([]float32, c)
		for i := range v {
			v[i] = 0.5 + rng.Float32()
		}
		return graph.FromFloat32([]int{c}, v)
	}
	m := tinyModel{[]int{2, 32}, []*graph.Node{
		node("Conv", []string{"x", "w1", "b1"}, "c", ints("pads", 2, 2), ints("kernel_shape", 5)),
		node("BatchNormalization", []string{"c", "g", "be", "mu", "var"}, "n", floatAttr("epsilon", 1e-5)),
		node("Relu", []string{"n"}, "r"),
		node("Conv", []string{"r", "w2", "b2"}, "c2", ints("strides", 2), intAttr("group", 8), ints("pads", 1, 1)),
		node("Relu", []string{"c2"}, "r2"),
		node("ConvTranspose", []string{"r2", "w3", "b3"}, "u", ints("strides", 2), ints("pads", 1, 1)),
		node("Relu", []string{"u"}, "r3"),
		node("GlobalAveragePool", []string{"r3"}, "p"),
		node("Flatten", []string{"p"}, "f"),
		node("Gemm", []string{"f", "wf", "bf"}, "y", intAttr("transB", 1)),
	}, map[string]*graph.Tensor{"w1": w(8, 2, 5), "b1": w(8), "g": pos(8), "be": w(8), "mu": w(8), "var": pos(8),
		"w2": w(8, 1, 3), "b2": w(8), "w3": w(8, 6, 4), "b3": w(6), "wf": w(4, 6), "bf": w(4)}}.model()
	m.Graph.Outputs[0].Shape, m.Graph.Outputs[0].HasShape = graph.Shape{{Size: -1, Param: "N"}, {Size: 4}}, true
	shape := []int{2, 32}
	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	data := randomLabelled{randomBatches{"x", shape, 64, 9}, 4}
	setCalibratedRanges(t, n, data)
	stats, err := n.Fit(data, Options{LR: 0.01, Batch: 16, Epochs: 2, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
	require.NoError(t, err)
	require.False(t, math.IsNaN(stats[1].Loss))

	x := randomSamples(rng, 4*numel(shape))
	sqnr := exportSQNR(t, n, x, 4, map[string]*graph.Tensor{"x": graph.FromFloat32(append([]int{4}, shape...), x)}, "y")
	t.Logf("fake-quantized training forward against the int8 runtime: %.1f dB", sqnr)
	require.Greater(t, sqnr, 30.0)
}

// TestConv3dTrainsAndExports: a small video classifier (a (1, 3, 3) spatial and
// a (3, 1, 1) temporal convolution as R(2+1)D factorises them, a strided and a
// depthwise one as X3D's, the global pool) trains, and the written QDQ model
// computes on the int8 runtime what the fake-quantized net computed.
func TestConv3dTrainsAndExports(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.4, shape...) }
	shape := []int{2, 4, 8, 8}
	m := tinyModel{shape, []*graph.Node{
		node("Conv", []string{"x", "ws", "bs"}, "s", ints("pads", 0, 1, 1, 0, 1, 1)),
		node("Relu", []string{"s"}, "sr"),
		node("Conv", []string{"sr", "wt", "bt"}, "tc", ints("pads", 1, 0, 0, 1, 0, 0)),
		node("Relu", []string{"tc"}, "tr"),
		node("Conv", []string{"tr", "wd", "bd"}, "d", ints("strides", 1, 2, 2), ints("pads", 1, 1, 1, 1, 1, 1), intAttr("group", 8)),
		node("Relu", []string{"d"}, "dr"),
		node("GlobalAveragePool", []string{"dr"}, "p"),
		node("Flatten", []string{"p"}, "f"),
		node("Gemm", []string{"f", "wf", "bf"}, "y", intAttr("transB", 1)),
	}, map[string]*graph.Tensor{"ws": w(8, 2, 1, 3, 3), "bs": w(8), "wt": w(8, 8, 3, 1, 1), "bt": w(8),
		"wd": w(8, 1, 3, 3, 3), "bd": w(8), "wf": w(5, 8), "bf": w(5)}}.model()
	m.Graph.Outputs[0].Shape, m.Graph.Outputs[0].HasShape = graph.Shape{{Size: -1, Param: "N"}, {Size: 5}}, true
	before := append([]float32(nil), m.Graph.Initializers["ws"].F32()...)
	n := trainAndCheckExport(t, m, shape, 5, 8, rng)
	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	int8W := 0
	for _, nd := range q.Graph.Nodes {
		if t := q.Graph.Initializers[nd.Input(0)]; nd.OpType == "DequantizeLinear" && t != nil && t.DType == graph.Int8 && len(t.Shape) == 5 {
			int8W++
		}
	}
	require.Equal(t, 3, int8W, "the three 3-D weights written int8")
	trained := false
	for _, p := range n.Params() {
		trained = trained || (p.Name == "ws" && !equalF32(before, p.W))
	}
	require.True(t, trained, "the first convolution's weight trained")
}

// TestVolumetricTrainsAndExports: a small 3-D encoder-decoder (3-D max pooling
// down, a strided 3-D transposed convolution up, 3-D average pooling, as
// volumetric U-Nets and C3D are built) trains, and the written QDQ model computes
// on the int8 runtime what the fake-quantized net computed.
func TestVolumetricTrainsAndExports(t *testing.T) {
	rng := rand.New(rand.NewSource(14))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.4, shape...) }
	shape := []int{1, 4, 8, 8}
	m := tinyModel{shape, []*graph.Node{
		node("Conv", []string{"x", "w1", "b1"}, "c", ints("pads", 1, 1, 1, 1, 1, 1)),
		node("Relu", []string{"c"}, "r"),
		node("MaxPool", []string{"r"}, "mp", ints("kernel_shape", 2, 2, 2), ints("strides", 2, 2, 2)),
		node("ConvTranspose", []string{"mp", "wu", "bu"}, "u", ints("strides", 2, 2, 2)),
		node("Relu", []string{"u"}, "ur"),
		node("AveragePool", []string{"ur"}, "ap", ints("kernel_shape", 1, 2, 2), ints("strides", 1, 2, 2)),
		node("GlobalAveragePool", []string{"ap"}, "p"),
		node("Flatten", []string{"p"}, "f"),
		node("Gemm", []string{"f", "wf", "bf"}, "y", intAttr("transB", 1)),
	}, map[string]*graph.Tensor{"w1": w(6, 1, 3, 3, 3), "b1": w(6), "wu": w(6, 4, 2, 2, 2), "bu": w(4), "wf": w(3, 4), "bf": w(3)}}.model()
	m.Graph.Outputs[0].Shape, m.Graph.Outputs[0].HasShape = graph.Shape{{Size: -1, Param: "N"}, {Size: 3}}, true
	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	kinds := map[string]bool{}
	for _, o := range n.ops {
		kinds[fmt.Sprintf("%T", o)] = true
	}
	require.True(t, kinds["*qat.pool3dOp"] && kinds["*qat.convTranspose3dOp"] && kinds["*qat.conv3dOp"], "%v", kinds)
	trainAndCheckExport(t, m, shape, 3, 9, rng)
}

// TestMaxUnpoolTrainsAndExports: a SegNet-style encoder-decoder (MaxPool with
// its indices, MaxUnpool putting the decoder's values back where the maxima
// were) trains, and the written QDQ model computes on the int8 runtime what the
// fake-quantized net computed.
func TestMaxUnpoolTrainsAndExports(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.4, shape...) }
	shape := []int{2, 8, 8}
	m := tinyModel{shape, []*graph.Node{
		node("Conv", []string{"x", "w1", "b1"}, "c", ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c"}, "r"),
		multiNode("MaxPool", []string{"r"}, []string{"mp", "idx"}, ints("kernel_shape", 2, 2), ints("strides", 2, 2)),
		node("Conv", []string{"mp", "w2", "b2"}, "c2", ints("pads", 1, 1, 1, 1)),
		node("MaxUnpool", []string{"c2", "idx"}, "u", ints("kernel_shape", 2, 2), ints("strides", 2, 2)),
		node("Conv", []string{"u", "w3", "b3"}, "c3", ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c3"}, "r3"),
		node("GlobalAveragePool", []string{"r3"}, "p"),
		node("Flatten", []string{"p"}, "f"),
		node("Gemm", []string{"f", "wf", "bf"}, "y", intAttr("transB", 1)),
	}, map[string]*graph.Tensor{"w1": w(6, 2, 3, 3), "b1": w(6), "w2": w(6, 6, 3, 3), "b2": w(6), "w3": w(4, 6, 3, 3), "b3": w(4), "wf": w(3, 4), "bf": w(3)}}.model()
	m.Graph.Outputs[0].Shape, m.Graph.Outputs[0].HasShape = graph.Shape{{Size: -1, Param: "N"}, {Size: 3}}, true
	trainAndCheckExport(t, m, shape, 3, 10, rng)
}

// trainAndCheckExport trains the net of m (inputs of the per-sample shape,
// labels below classes) two epochs on random data, and requires the written QDQ
// model to compute on the int8 runtime what the fake-quantized net computes (30
// dB at least) on four random samples of rng. It returns the trained net.
func trainAndCheckExport(t *testing.T, m *graph.Model, shape []int, classes int, seed int64, rng *rand.Rand) *Net {
	t.Helper()
	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	data := randomLabelled{randomBatches{"x", shape, 48, seed}, classes}
	setCalibratedRanges(t, n, data)
	stats, err := n.Fit(data, Options{LR: 0.01, Batch: 16, Epochs: 2, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
	require.NoError(t, err)
	require.False(t, math.IsNaN(stats[1].Loss))
	x := randomSamples(rng, 4*numel(shape))
	sqnr := exportSQNR(t, n, x, 4, map[string]*graph.Tensor{"x": graph.FromFloat32(append([]int{4}, shape...), x)}, "y")
	t.Logf("fake-quantized training forward against the int8 runtime: %.1f dB", sqnr)
	require.Greater(t, sqnr, 30.0)
	return n
}

// TestDeformConvTrainsAndExports: a DCNv2 block (offsets and modulation mask
// computed by convolutions of the features, as torchvision's and mmcv's DCNv2
// do) trains, and the written QDQ model computes on the int8 runtime what the
// fake-quantized net computed.
func TestDeformConvTrainsAndExports(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	w := func(s float32, shape ...int) *graph.Tensor { return randTensor(rng, s, shape...) }
	shape := []int{3, 8, 8}
	m := tinyModel{shape, []*graph.Node{
		node("Conv", []string{"x", "w1", "b1"}, "c", ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c"}, "r"),
		node("Conv", []string{"r", "wo", "bo"}, "off", ints("pads", 1, 1, 1, 1)),
		node("Conv", []string{"r", "wm", "bm"}, "ml", ints("pads", 1, 1, 1, 1)),
		node("Sigmoid", []string{"ml"}, "mask"),
		node("DeformConv", []string{"r", "w2", "off", "b2", "mask"}, "d", ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"d"}, "rd"),
		node("GlobalAveragePool", []string{"rd"}, "p"),
		node("Flatten", []string{"p"}, "f"),
		node("Gemm", []string{"f", "wf", "bf"}, "y", intAttr("transB", 1)),
	}, map[string]*graph.Tensor{"w1": w(0.4, 6, 3, 3, 3), "b1": w(0.4, 6), "wo": w(0.1, 18, 6, 3, 3), "bo": w(0.5, 18),
		"wm": w(0.1, 9, 6, 3, 3), "bm": w(0.4, 9), "w2": w(0.4, 4, 6, 3, 3), "b2": w(0.4, 4), "wf": w(0.4, 3, 4), "bf": w(0.4, 3)}}.model()
	m.Graph.Outputs[0].Shape, m.Graph.Outputs[0].HasShape = graph.Shape{{Size: -1, Param: "N"}, {Size: 3}}, true
	trainAndCheckExport(t, m, shape, 3, 11, rng)
}

// TestRoiPoolingTrainsAndExports: a box head on RoiAlign and MaxRoiPool of one
// fixed box per image (the boxes and batch indices computed from the batch
// size, as a detector's are from its proposals) trains, and the written QDQ
// model computes on the int8 runtime what the fake-quantized net computed.
func TestRoiPoolingTrainsAndExports(t *testing.T) {
	rng := rand.New(rand.NewSource(18))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.4, shape...) }
	shape := []int{3, 8, 8}
	m := tinyModel{shape, []*graph.Node{
		node("Shape", []string{"x"}, "sh"),
		node("Gather", []string{"sh", "i0"}, "nb"),
		node("Unsqueeze", []string{"nb", "a0"}, "nbv"),
		node("Concat", []string{"nbv", "four"}, "rs", intAttr("axis", 0)),
		node("Expand", []string{"box", "rs"}, "rois"),
		node("Range", []string{"z", "nb", "one"}, "bi"),
		node("Cast", []string{"bi"}, "bf", intAttr("to", int64(graph.Float32))),
		node("Unsqueeze", []string{"bf", "a1"}, "bf1"),
		node("Concat", []string{"bf1", "rois"}, "rois5", intAttr("axis", 1)),
		node("Conv", []string{"x", "w1", "b1"}, "c", ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c"}, "r"),
		node("RoiAlign", []string{"r", "rois", "bi"}, "ra", intAttr("output_height", 2), intAttr("output_width", 2), floatAttr("spatial_scale", 0.5)),
		node("MaxRoiPool", []string{"r", "rois5"}, "rp", ints("pooled_shape", 2, 2), floatAttr("spatial_scale", 0.5)),
		node("Add", []string{"ra", "rp"}, "s"),
		node("Flatten", []string{"s"}, "f"),
		node("Gemm", []string{"f", "wf", "bf0"}, "y", intAttr("transB", 1)),
	}, map[string]*graph.Tensor{"w1": w(4, 3, 3, 3), "b1": w(4), "wf": w(3, 16), "bf0": w(3),
		"box": graph.FromFloat32([]int{1, 4}, []float32{2, 2, 12, 14}), "i0": graph.FromInt64(nil, []int64{0}),
		"a0": i64(0), "a1": i64(1), "four": i64(4), "z": graph.FromInt64(nil, []int64{0}), "one": graph.FromInt64(nil, []int64{1})}}.model()
	m.Graph.Outputs[0].Shape, m.Graph.Outputs[0].HasShape = graph.Shape{{Size: -1, Param: "N"}, {Size: 3}}, true
	trainAndCheckExport(t, m, shape, 3, 12, rng)
}
