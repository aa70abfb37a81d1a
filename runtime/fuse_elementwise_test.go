package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// TestFusedGELUAndSquare builds a transformer MLP as torch.onnx writes it at
// opset 13 (decomposed LayerNorm with Pow(x, 2), Erf-spelled GELU, a second
// GELU with Mul by 1/√2 and the constant first in the Adds) and checks it
// against the operators run one by one.
func TestFusedGELUAndSquare(t *testing.T) {
	b := newMB(31)
	b.Input("x", graph.Dim{Size: 3}, graph.Dim{Size: 5}, graph.Dim{Size: 16})
	scalar := func(v float32) string { return b.Init("c", graph.ScalarFloat32(v)) }
	axes := &graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: []int64{-1}}
	mean := b.Node("ReduceMean", []string{"x"}, axes)
	d := b.Node("Sub", []string{"x", mean})
	v := b.Node("ReduceMean", []string{b.Node("Pow", []string{d, scalar(2)})}, axes)
	n := b.Node("Div", []string{d, b.Node("Sqrt", []string{b.Node("Add", []string{v, scalar(1e-6)})})})
	h := b.Node("MatMul", []string{n, b.RandInit("w", []int{16, 24}, 0.5)})
	gelu := func(x string, mulForm bool) string {
		var s string
		if mulForm {
			s = b.Node("Mul", []string{x, scalar(float32(1 / math.Sqrt2))})
		} else {
			s = b.Node("Div", []string{x, scalar(float32(math.Sqrt2))})
		}
		e := b.Node("Add", []string{scalar(1), b.Node("Erf", []string{s})})
		return b.Node("Mul", []string{scalar(0.5), b.Node("Mul", []string{e, x})})
	}
	h = gelu(h, false)
	h = gelu(b.Node("MatMul", []string{h, b.RandInit("w", []int{24, 16}, 0.5)}), true)
	b.Output(h)
	m := b.Model()
	in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(3)), []int{3, 5, 16}, -3, 3)}
	ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	s, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	gelus, squares, inMatMul := 0, 0, 0
	for _, st := range s.steps {
		switch st.kernel.(type) {
		case *actKernel:
			gelus++
		case *packedMatMulKernel: // the GELU fused into the MatMul's store
			if k := st.kernel.(*packedMatMulKernel); k.act == kernels.ActGELU {
				gelus++
				inMatMul++
			}
		case *squareKernel, *layerNormRowsKernel: // Pow(x, 2) alone, or in the fused layer norm
			squares++
		}
		require.NotEqual(t, "Erf", st.node.OpType)
	}
	require.Equal(t, 2, gelus)
	require.Equal(t, 2, inMatMul, "each GELU is the only reader of a MatMul")
	require.Equal(t, 1, squares)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	o := s.Outputs()[0].Name
	require.NoError(t, CompareTensors(got[o], want[o], gemmTol))
}
