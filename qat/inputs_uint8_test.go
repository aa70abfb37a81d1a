package qat

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// uint8Images are labelled random images of raw 0-255 pixels, NHWC.
type uint8Images struct{ n, size int }

func (d uint8Images) Len() int { return d.n }
func (d uint8Images) Sample(i int, dst []float32) (int, error) {
	rng := rand.New(rand.NewSource(int64(i)))
	for j := range dst[:d.size] {
		dst[j] = float32(rng.Intn(256))
	}
	return i % 3, nil
}

// TestUint8ImageInput: a model that takes raw uint8 pixels and casts and
// normalises them itself (as tf2onnx and deployment exports write it) trains,
// the input carrying no gradient; pixel values outside 0-255 are an error naming
// the input; the written model computes on the int8 runtime what training
// computed.
func TestUint8ImageInput(t *testing.T) {
	rng := rand.New(rand.NewSource(41))
	g := &graph.Graph{Name: "u8", Values: map[string]*graph.Value{}, Initializers: map[string]*graph.Tensor{
		"mean": graph.ScalarFloat32(127.5), "std": graph.ScalarFloat32(64),
		"w": randTensor(rng, 0.4, 4, 3, 3, 3), "b": randTensor(rng, 0.1, 4),
		"wf": randTensor(rng, 0.5, 3, 4), "bf": randTensor(rng, 0.1, 3)}}
	g.Nodes = []*graph.Node{
		node("Transpose", []string{"image"}, "nchw", ints("perm", 0, 3, 1, 2)),
		node("Cast", []string{"nchw"}, "f", intAttr("to", int64(graph.Float32))),
		node("Sub", []string{"f", "mean"}, "c"), node("Div", []string{"c", "std"}, "x"),
		node("Conv", []string{"x", "w", "b"}, "cv", ints("pads", 1, 1, 1, 1)), node("Relu", []string{"cv"}, "r"),
		node("GlobalAveragePool", []string{"r"}, "p"), node("Flatten", []string{"p"}, "fl"),
		node("Gemm", []string{"fl", "wf", "bf"}, "y", intAttr("transB", 1)),
	}
	g.Inputs = []*graph.Value{{Name: "image", DType: graph.Uint8, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "N"}, {Size: 8}, {Size: 8}, {Size: 3}}}}
	g.Outputs = []*graph.Value{{Name: "y", DType: graph.Float32, HasShape: true, Shape: graph.Shape{{Size: -1, Param: "N"}, {Size: 3}}}}
	m := &graph.Model{Graph: g, IRVersion: 7, Opsets: map[string]int64{"": 13}}

	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	require.Equal(t, 8*8*3, n.SampleLen())
	data := uint8Images{64, 8 * 8 * 3}
	batches := make([]float32, 16*n.SampleLen())
	for i := range 16 {
		_, err := data.Sample(i, batches[i*n.SampleLen():])
		require.NoError(t, err)
	}
	setCalibratedRanges(t, n, uint8Batches{batches, 16})
	_, err = n.Fit(data, Options{LR: 0.01, Batch: 16, Epochs: 2, FreezeBNAfter: -1, FreezeRangesAfter: -1, Seed: 1})
	require.NoError(t, err)

	x := batches[:2*n.SampleLen()]
	px := make([]uint8, len(x))
	for i, v := range x {
		px[i] = uint8(v)
	}
	sqnr := exportSQNR(t, n, x, 2, map[string]*graph.Tensor{"image": graph.FromUint8([]int{2, 8, 8, 3}, px)}, "y")
	t.Logf("fake-quantized training forward against the int8 runtime: %.1f dB", sqnr)
	require.Greater(t, sqnr, 35.0)

	bad := append([]float32(nil), x...)
	bad[5] = 300
	_, _, err = n.Forward(bad, 2)
	require.ErrorContains(t, err, `input "image" is uint8; sample 0 holds 300`)
}

// uint8Batches serves the first n samples of flat pixel values as uint8 batches
// (quantizer.Batches) for calibration.
type uint8Batches struct {
	x []float32
	n int
}

func (b uint8Batches) Len() int { return b.n }
func (b uint8Batches) Batch(start, n int) (map[string]*graph.Tensor, error) {
	per := len(b.x) / b.n
	px := make([]uint8, n*per)
	for i, v := range b.x[start*per : (start+n)*per] {
		px[i] = uint8(v)
	}
	return map[string]*graph.Tensor{"image": graph.FromUint8([]int{n, 8, 8, 3}, px)}, nil
}
