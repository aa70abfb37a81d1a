package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestPackedMatMulMatchesUnfused checks MatMul with a constant B (3-D and 2-D
// A, a bias Add in either order, a bias of rank 3, no bias, a tapped product)
// against the operators run one by one.
func TestPackedMatMulMatchesUnfused(t *testing.T) {
	b := newMB(21)
	b.Input("x", graph.Dim{Size: 2}, graph.Dim{Size: 7}, graph.Dim{Size: 12})
	h := b.Node("MatMul", []string{"x", b.RandInit("w", []int{12, 20}, 0.3)})
	h = b.Node("Add", []string{b.RandInit("bias", []int{20}, 0.5), h})
	h = b.Node("MatMul", []string{h, b.RandInit("w", []int{20, 9}, 0.3)})
	h = b.Node("Add", []string{h, b.RandInit("bias", []int{1, 1, 9}, 0.5)})
	f := b.Node("Flatten", []string{h}, tAttrI("axis", 2))
	y := b.Node("MatMul", []string{f, b.RandInit("w", []int{9, 5}, 0.3)}) // 2-D A [14, 9], no bias
	b.Output(y)
	b.Output(b.Node("Relu", []string{h}))
	m := b.Model()
	in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(2)), []int{2, 7, 12}, -1, 1)}
	ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	for _, th := range []int{1, 2} {
		s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
		require.NoError(t, err)
		packed, adds := 0, 0
		for _, st := range s.steps {
			if _, ok := st.kernel.(*packedMatMulKernel); ok {
				packed++
			}
			if st.node.OpType == "Add" {
				adds++
			}
		}
		require.Equal(t, 3, packed)
		require.Equal(t, 0, adds, "the bias Adds are fused")
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		for _, o := range s.Outputs() {
			require.Equal(t, want[o.Name].Shape, got[o.Name].Shape)
			require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), o.Name)
		}
	}
}
