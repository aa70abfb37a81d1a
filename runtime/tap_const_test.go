package runtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// A QDQ model computing a quantized scale from its input's symbolic width
// (torchvision's detection transform: 320 / width, then quantized): once the
// shapes are bound the scale is a constant, and a tap on it (compare reads every
// dequantized tensor) must still be served by the int8 session, as by the float
// one, instead of failing the session.
func TestInt8TapOnShapeDerivedConstant(t *testing.T) {
	b := testmodels.New(1)
	x := b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 2}, graph.Dim{Size: -1, Param: "w"})
	i64 := func(v ...int64) string { return b.Init("c", graph.FromInt64([]int{len(v)}, v)) }
	f32 := func(v float32) string { return b.Init("f", graph.FromFloat32(nil, []float32{v})) }
	qdq := func(in string, scale float32) string {
		q := b.Node("QuantizeLinear", []string{in, f32(scale), b.Init("z", graph.FromInt8(nil, []int8{0}))})
		return b.Node("DequantizeLinear", []string{q, f32(scale), b.Init("z", graph.FromInt8(nil, []int8{0}))})
	}
	width := b.Node("Cast", []string{b.Node("Gather", []string{b.Node("Shape", []string{x}), i64(2)}, graph.IntAttr("axis", 0))},
		graph.IntAttr("to", int64(graph.Float32)))
	scale := qdq(b.Node("Div", []string{f32(32), width}), 0.05)
	out := qdq(b.Node("Mul", []string{qdq(x, 0.02), scale}), 0.1)
	b.Output(out)
	m := b.Model()

	bound, err := m.WithInputShapes(map[string][]int{"x": {1, 2, 8}})
	require.NoError(t, err)
	in := map[string]*graph.Tensor{"x": graph.FromFloat32([]int{1, 2, 8}, []float32{
		0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8})}
	for _, mode := range []Mode{ModeFloat, ModeInt8} {
		s, err := NewSession(bound, WithMode(mode), WithTaps(scale), WithThreads(1))
		require.NoError(t, err, "mode %v", mode)
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		require.NotNil(t, got[scale], "mode %v", mode)
		assert.InDelta(t, 4.0, got[scale].F32()[0], 1e-6, "32/8, exact on the 0.05 grid (mode %v)", mode)
	}
}
