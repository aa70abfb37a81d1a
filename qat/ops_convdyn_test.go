package qat

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestConvComputedWeight: a Conv whose weight the network computes from the
// sample (StyleGAN2's modulation: each input channel's kernel taps scaled by a
// style computed from the input, then demodulated per filter; a model fixed at
// batch 1, so the weight is per sample) runs as the float runtime does, and its
// gradients (into the input through both the convolution and the weight, and
// into the weight and style parameters) equal finite differences.
func TestConvComputedWeight(t *testing.T) {
	rng := rand.New(rand.NewSource(19))
	m := tinyModel{[]int{4, 5, 5}, []*graph.Node{
		node("ReduceMean", []string{"x"}, "xm", ints("axes", 2, 3)),
		node("Reshape", []string{"xm", "s4"}, "xs"),
		node("Mul", []string{"xs", "ks"}, "st"),
		node("Add", []string{"st", "one"}, "style"),
		node("Mul", []string{"w0", "style"}, "wmod"),
		node("Mul", []string{"wmod", "wmod"}, "wsq"),
		node("ReduceSum", []string{"wsq", "ax"}, "wss"),
		node("Add", []string{"wss", "eps"}, "wse"),
		node("Sqrt", []string{"wse"}, "wsd"),
		node("Div", []string{"wmod", "wsd"}, "wn"),
		node("Conv", []string{"x", "wn", "b"}, "c", ints("pads", 1, 1, 1, 1)),
		node("Mul", []string{"c", "c"}, "y")},
		map[string]*graph.Tensor{"w0": randTensor(rng, 0.5, 6, 4, 3, 3), "b": randTensor(rng, 0.5, 6),
			"ks": randTensor(rng, 0.5, 1, 4, 1, 1), "one": graph.ScalarFloat32(1), "eps": graph.ScalarFloat32(1e-5),
			"s4": i64(1, 4, 1, 1), "ax": i64(1, 2, 3)}}.model()
	m.Graph.Inputs[0].Shape[0] = graph.Dim{Size: 1}
	n, err := New(m, Config{FloatOnly: true, Threads: 2})
	require.NoError(t, err)
	dyn := false
	for _, o := range n.ops {
		_, ok := o.(*convDynOp)
		dyn = dyn || ok
	}
	require.True(t, dyn, "the Conv reads a computed weight")
	checkForwardMatchesRuntime(t, m, n, 1)
	checkGrads(t, n, 1, false)
}
