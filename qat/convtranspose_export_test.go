package qat

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

// TestConvTransposeExportMatchesInt8Runtime checks a fake-quantized decoder step (Conv
// stride 2, Relu, ConvTranspose stride 2 with bias) against its exported QDQ model on
// the int8 runtime: the ConvTranspose's weight is fake-quantized per channel along
// axis 1 and its bias on the int32 grid, as Quantize stores them, so the two agree
// within an output step.
func TestConvTransposeExportMatchesInt8Runtime(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	tm := tinyModel{[]int{2, 6, 6}, []*graph.Node{
		node("Conv", []string{"x", "w1"}, "c", ints("strides", 2, 2), ints("pads", 1, 1, 1, 1)),
		node("Relu", []string{"c"}, "r"),
		node("ConvTranspose", []string{"r", "w2", "b2"}, "y", ints("strides", 2, 2))},
		map[string]*graph.Tensor{"w1": randTensor(rng, 0.5, 4, 2, 3, 3), "w2": randTensor(rng, 0.5, 4, 3, 2, 2), "b2": randTensor(rng, 0.5, 3)}}
	m := tm.model()
	n, err := New(m, Config{Threads: 2})
	require.NoError(t, err)
	labels := map[string]bool{}
	for _, o := range n.ops {
		labels[o.label()] = true
	}
	require.True(t, labels[`ConvTranspose "y_node"`], "the ConvTranspose trains as itself: %v", labels)
	r := quantizer.Ranges{}
	for k := range n.ranges {
		r[k] = [2]float32{-3, 3}
	}
	require.NoError(t, n.SetRanges(r))
	const N = 4
	x := randTensor(rng, 1, N, 2, 6, 6)
	shape, got, err := n.Forward(x.F32(), N)
	require.NoError(t, err)
	require.Equal(t, []int{N, 3, 6, 6}, shape)
	q, err := n.Export(quantizer.QuantOptions{})
	require.NoError(t, err)
	s, err := runtime.NewSession(q, runtime.WithMode(runtime.ModeInt8))
	require.NoError(t, err)
	out, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
	require.NoError(t, err)
	want := out["y"].F32()
	require.Len(t, got, len(want))
	step := float64(quantizer.ParamsFromRange(-3, 3).Scale)
	var maxDiff float64
	inside, levels := 0, map[float32]bool{}
	for i := range got {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
		if got[i] > -2.9 && got[i] < 2.9 {
			inside++
		}
		levels[got[i]] = true
	}
	// not a saturated or constant output
	require.Greater(t, inside, len(got)*3/4)
	require.Greater(t, len(levels), 20)
	t.Logf("max |difference| %.3g = %.2f output steps", maxDiff, maxDiff/step)
	require.LessOrEqual(t, maxDiff, 1.01*step)
}
