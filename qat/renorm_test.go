package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// TestRenormFoldedGradients: a folded convolution with its BatchNormalization put
// back trains with batch statistics; once the first batch has set them, the
// gradients of the input, the weight, the bias, the scale and the shift match
// central finite differences (regular and depthwise convolutions).
func TestRenormFoldedGradients(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.5, shape...) }
	for _, tc := range []struct {
		name string
		m    tinyModel
	}{
		{"Conv 3x3 + bias", tinyModel{[]int{2, 4, 4}, []*graph.Node{
			node("Conv", []string{"x", "w", "b"}, "y", ints("pads", 1, 1, 1, 1))}, map[string]*graph.Tensor{"w": w(3, 2, 3, 3), "b": w(3)}}},
		{"Conv depthwise stride 2 + bias", tinyModel{[]int{3, 5, 5}, []*graph.Node{
			node("Conv", []string{"x", "w", "b"}, "y", intAttr("group", 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1))},
			map[string]*graph.Tensor{"w": w(3, 1, 3, 3), "b": w(3)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := New(tc.m.model(), Config{FloatOnly: true, Threads: 2, RenormFolded: true})
			require.NoError(t, err)
			require.Len(t, n.convBNs, 1)
			require.True(t, n.convBNs[0].pending)
			checkGrads(t, n, 4, true)
			assert.False(t, n.convBNs[0].pending, "the first training batch set the statistics")
		})
	}
}

// TestRenormFoldedStart: on the bundled ResNet (its BatchNormalization folded in the
// file) every convolution gets one put back and the CNN (BatchNormalization in the
// file) none; the model exported before training is the plain net's, byte for byte;
// on the first training batch the renormalised net computes what the plain one
// does, and the export after it is the plain net's up to float rounding.
func TestRenormFoldedStart(t *testing.T) {
	train, err := dataset.Load("../testdata/fashion-mnist", "train")
	require.NoError(t, err)
	test, err := dataset.Load("../testdata/fashion-mnist", "t10k")
	require.NoError(t, err)
	convsWithBias := func(m *graph.Model) int {
		k := 0
		for _, nd := range m.Graph.Nodes {
			if nd.OpType == "Conv" && m.Graph.Initializers[nd.Input(2)] != nil {
				k++
			}
		}
		return k
	}

	cnn, err := graph.Load("../testdata/models/fmnist_cnn.onnx")
	require.NoError(t, err)
	plainCNN, err := New(cnn, Config{Threads: 2})
	require.NoError(t, err)
	rnCNN, err := New(cnn, Config{Threads: 2, RenormFolded: true})
	require.NoError(t, err)
	assert.Len(t, rnCNN.convBNs, len(plainCNN.convBNs), "a BatchNormalization in the file is not doubled")

	m, err := graph.Load("../testdata/models/fmnist_resnet.onnx")
	require.NoError(t, err)
	plain, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	rn, err := New(m, Config{Threads: 2, RenormFolded: true})
	require.NoError(t, err)
	require.Empty(t, plain.convBNs)
	require.Equal(t, convsWithBias(rn.Plan().Model), len(rn.convBNs))
	require.Greater(t, len(rn.convBNs), 10)
	calibrateNet(t, plain, m, train, 100)
	calibrateNet(t, rn, m, train, 100)

	export := func(n *Net) []byte {
		q, err := n.Export(quantizer.QuantOptions{})
		require.NoError(t, err)
		b, err := q.Encode()
		require.NoError(t, err)
		return b
	}
	assert.Equal(t, export(plain), export(rn), "before training")

	const N = 32
	x := train.Batch(0, N).F32()
	plain.training, rn.training = true, true
	_, a, err := plain.Forward(x, N)
	require.NoError(t, err)
	a = append([]float32(nil), a...)
	_, b, err := rn.Forward(x, N)
	require.NoError(t, err)
	plain.training, rn.training = false, false
	// The batch moved both nets' moving ranges: steps of either.
	step := func(n *Net) float64 {
		r := n.Ranges()["logits"]
		return float64(quantizer.ParamsFromRange(r[0], r[1]).Scale)
	}
	outScale := math.Max(step(plain), step(rn))
	var maxDiff float64
	for i := range a {
		maxDiff = math.Max(maxDiff, math.Abs(float64(a[i]-b[i])))
	}
	assert.LessOrEqual(t, maxDiff, 1.5*outScale, "first training batch: max |logit difference| one output step (the two grids differ a little)")
	for _, c := range rn.convBNs {
		require.False(t, c.pending)
	}

	run := func(n *Net) []float32 {
		q, err := n.Export(quantizer.QuantOptions{})
		require.NoError(t, err)
		s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
		require.NoError(t, err)
		out, err := s.RunTensors(map[string]*graph.Tensor{"input": test.Batch(0, 100)})
		require.NoError(t, err)
		return out["logits"].F32()
	}
	pa, pb := run(plain), run(rn)
	agree := 0
	maxDiff = 0
	for i := 0; i < 100; i++ {
		if argmax(pa[i*10:(i+1)*10]) == argmax(pb[i*10:(i+1)*10]) {
			agree++
		}
	}
	for i := range pa {
		maxDiff = math.Max(maxDiff, math.Abs(float64(pa[i]-pb[i])))
	}
	t.Logf("after the first batch: top-1 agreement %d/100, max |logit difference| %.3g (%.2f output steps)", agree, maxDiff, maxDiff/outScale)
	assert.GreaterOrEqual(t, agree, 99)
	assert.LessOrEqual(t, maxDiff, 2*outScale)
}

// TestConvBNIdentityFedWeights: a Conv whose weight reaches it through an Identity
// node (torch.onnx's export of a weight read by several modules, as EfficientNet's
// are written) still trains with the BatchNormalization after it as one fused
// Conv+BN layer, with batch statistics, and its gradients match finite
// differences. --renorm-folded then puts nothing back there, and a Conv on a 1x1
// map (a squeeze-excitation gate after global pooling) gets none either.
func TestConvBNIdentityFedWeights(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	w := func(shape ...int) *graph.Tensor { return randTensor(rng, 0.5, shape...) }
	pos := func(n int) *graph.Tensor {
		tt := randTensor(rng, 0.5, n)
		for i, v := range tt.F32() {
			tt.F32()[i] = 0.5 + float32(math.Abs(float64(v)))
		}
		return tt
	}
	m := tinyModel{[]int{2, 4, 4}, []*graph.Node{
		node("Identity", []string{"w0"}, "w"),
		node("Identity", []string{"b0"}, "b"),
		node("Conv", []string{"x", "w", "b"}, "c", ints("pads", 1, 1, 1, 1)),
		node("BatchNormalization", []string{"c", "g", "be", "mu", "var"}, "y")},
		map[string]*graph.Tensor{"w0": w(3, 2, 3, 3), "b0": w(3), "g": pos(3), "be": w(3), "mu": w(3), "var": pos(3)}}
	n, err := New(m.model(), Config{FloatOnly: true, Threads: 2})
	require.NoError(t, err)
	require.Len(t, n.convBNs, 1)
	assert.False(t, n.convBNs[0].synth)
	checkGrads(t, n, 3, true)
	rn, err := New(m.model(), Config{FloatOnly: true, Threads: 2, RenormFolded: true})
	require.NoError(t, err)
	assert.Equal(t, 0, rn.Renormalized())

	se := tinyModel{[]int{2, 4, 4}, []*graph.Node{
		node("Conv", []string{"x", "w", "b"}, "c", ints("pads", 1, 1, 1, 1)),
		node("GlobalAveragePool", []string{"c"}, "p"),
		node("Conv", []string{"p", "w2", "b2"}, "y")},
		map[string]*graph.Tensor{"w": w(3, 2, 3, 3), "b": w(3), "w2": w(3, 3, 1, 1), "b2": w(3)}}
	n, err = New(se.model(), Config{FloatOnly: true, Threads: 2, RenormFolded: true})
	require.NoError(t, err)
	assert.Equal(t, 1, n.Renormalized(), "the Conv on the 4x4 map, not the one on the pooled 1x1 map")
}
