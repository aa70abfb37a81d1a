package quantizer

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// stnModel is a spatial transformer as torch.onnx writes one: a localization net
// regresses an affine matrix theta (Gemm), the sampling grid is a base grid of pixel
// centres times theta^T (MatMul), reshaped to [N, 8, 8, 2], and GridSample resamples
// the image; a Conv reads the result.
func stnModel(rng *rand.Rand) *graph.Model {
	base := make([]float32, 0, 64*3)
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			base = append(base, float32(2*x+1)/8-1, float32(2*y+1)/8-1, 1)
		}
	}
	m := newModel("img", []int{1, 1, 8, 8}, []string{"out"}, []*graph.Node{
		node("Conv", []string{"img", "w1", "b1"}, []string{"c1"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c1"}, []string{"r1"}),
		node("GlobalAveragePool", []string{"r1"}, []string{"gap"}),
		node("Flatten", []string{"gap"}, []string{"feat"}),
		node("Gemm", []string{"feat", "wt", "bt"}, []string{"theta6"}, intAttr("transB", 1)),
		node("Reshape", []string{"theta6", "s23"}, []string{"theta"}),
		node("Transpose", []string{"theta"}, []string{"thetaT"}, ints("perm", 0, 2, 1)),
		node("MatMul", []string{"base", "thetaT"}, []string{"pts"}),
		node("Reshape", []string{"pts", "s8"}, []string{"grid"}),
		node("GridSample", []string{"img", "grid"}, []string{"samp"}),
		node("Conv", []string{"samp", "w2", "b2"}, []string{"out"}, ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)),
	}, map[string]*graph.Tensor{
		"w1":   randTensor(rng, []int{4, 1, 3, 3}, 0.5),
		"b1":   randTensor(rng, []int{4}, 0.1),
		"wt":   randTensor(rng, []int{6, 4}, 0.1),
		"bt":   graph.FromFloat32([]int{6}, []float32{1, 0.1, 0, -0.1, 1, 0}),
		"s23":  graph.FromInt64([]int{3}, []int64{-1, 2, 3}),
		"base": graph.FromFloat32([]int{1, 64, 3}, base),
		"s8":   graph.FromInt64([]int{4}, []int64{-1, 8, 8, 2}),
		"w2":   randTensor(rng, []int{2, 1, 3, 3}, 0.5),
		"b2":   randTensor(rng, []int{2}, 0.1),
	})
	m.Opsets[""] = 16
	return m
}

// The grid and the MatMul computing it stay float32; the localization net and the
// Conv after the sampling are quantized, and the int8 model stays close to float32.
func TestQuantizeKeepsSamplingGridFloat(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	m := stnModel(rng)
	cv := coordValues(m.Graph)
	for _, name := range []string{"grid", "pts"} {
		assert.True(t, cv[name], name)
	}
	for _, name := range []string{"thetaT", "theta", "img", "samp", "base", "s8"} {
		assert.False(t, cv[name], name)
	}

	calib := randTensor(rng, []int{1, 1, 8, 8}, 1)
	q, err := Quantize(m, rangesFromData(t, m, map[string]*graph.Tensor{"img": calib}), QuantOptions{})
	require.NoError(t, err)
	quantized := map[string]bool{}
	for _, n := range q.Graph.Nodes {
		if n.OpType == "QuantizeLinear" {
			quantized[n.Input(0)] = true
		}
	}
	q8 := func(name string) bool { return quantized[name] || quantized[name+"_QuantizeLinear_Input"] }
	assert.False(t, q8("grid"), "the grid stays float32")
	assert.False(t, q8("pts"), "the MatMul computing the grid stays float32")
	assert.True(t, q8("theta6"), "the localization net is quantized")
	assert.True(t, q8("samp"), "the sampled image is quantized for the Conv")
	s, err := runtime.NewSession(q)
	require.NoError(t, err)
	got, err := s.RunTensors(map[string]*graph.Tensor{"img": calib})
	require.NoError(t, err)
	ref := runFloat(t, m, map[string]*graph.Tensor{"img": calib})["out"].F32()
	d := maxAbsDiff(ref, got["out"].F32())
	t.Logf("max |int8 - float32| %.4f", d)
	assert.Less(t, d, 0.1)
}
