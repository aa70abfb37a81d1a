package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestInt8ConcatQuantizedConstant is the class token of a ViT as the quantizer
// writes it: Concat(DQ(int8 constant), DQ(activation)) → Q. The constant joins
// the int8 Concat (requantized to the output's parameters) instead of sending
// the Concat to float32.
func TestInt8ConcatQuantizedConstant(t *testing.T) {
	for _, sameParams := range []bool{true, false} {
		b := newMB(7)
		x := b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 6}, graph.Dim{Size: 8})
		f32 := func(v float32) string { return b.Init("s", graph.FromFloat32(nil, []float32{v})) }
		i8 := func(v int8) string { return b.Init("z", graph.FromInt8(nil, []int8{v})) }
		xs, xz := f32(0.05), i8(3)
		cs, cz := xs, xz
		if !sameParams {
			cs, cz = f32(0.02), i8(-5)
		}
		tok := make([]int8, 8)
		for i := range tok {
			tok[i] = int8(17*i - 60)
		}
		tok[0] = -128
		ct := b.Node("DequantizeLinear", []string{b.Init("cls", graph.FromInt8([]int{1, 1, 8}, tok)), cs, cz})
		xd := b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{x, xs, xz}), xs, xz})
		cat := b.Node("Concat", []string{ct, xd}, graph.IntAttr("axis", 1))
		ys, yz := f32(0.06), i8(1)
		y := b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{cat, ys, yz}), ys, yz})
		b.Output(y)
		qm := b.Model()
		var warns []string
		s, err := NewSession(qm, WithMode(ModeInt8), WithWarnings(func(w string) { warns = append(warns, w) }))
		require.NoError(t, err)
		assert.Empty(t, warns)
		for _, p := range s.Placement {
			assert.True(t, p.Int8 || p.Shape, "%s %s runs in float32", p.OpType, p.Node)
		}
		ref, err := NewSession(qm, WithMode(ModeFloat))
		require.NoError(t, err)
		in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(3)), []int{1, 6, 8}, -6, 6)}
		want, err := ref.RunTensors(in)
		require.NoError(t, err)
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		require.Equal(t, want[y].Shape, got[y].Shape)
		frac, mx := outputSteps(t, got[y], want[y], 0.06)
		assert.Equal(t, 1.0, frac, "sameParams=%v", sameParams)
		assert.LessOrEqual(t, mx, 1.0)
	}
}
