package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestFoldConstSteps builds an int8 model whose bias is computed from a
// quantized table by constant indices (a Gather, Quantize, Dequantize, a
// Transpose: the relative position bias of the relpos exports), once with
// the table as an initializer (those steps fold) and once with the table as
// an input (they run): the same outputs, and fewer steps when folded.
func TestFoldConstSteps(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	table := randInput(rng, []int{9, 2}, -1, 1)
	idx := make([]int64, 16)
	for i := range idx {
		idx[i] = int64(rng.Intn(9))
	}
	build := func(tableInput bool) *graph.Model {
		b := newMB(3)
		b.Input("x", staticDims(2, 4, 4)...)
		tab := "table"
		if tableInput {
			b.Input("table", staticDims(9, 2)...)
		} else {
			b.G.Initializers["table"] = table
		}
		tq := b.qdqNode(tab, 1.0/127, 0)
		g := b.Node("Gather", []string{tq, b.Init("idx", graph.FromInt64([]int{4, 4}, idx))})
		bias := b.qdqNode(b.Node("Transpose", []string{b.qdqNode(g, 1.0/127, 0)}, graph.IntsAttr("perm", []int{2, 0, 1})), 1.0/127, 0)
		y := b.Node("Add", []string{b.qdqNode("x", 2.0/127, 3), bias})
		b.Output(b.qdqNode(y, 3.0/127, -2))
		return b.Model()
	}
	in := map[string]*graph.Tensor{"x": randInput(rng, []int{2, 4, 4}, -2, 2)}
	ref, err := NewSession(build(true), WithMode(ModeInt8), WithThreads(1))
	require.NoError(t, err)
	withTable := map[string]*graph.Tensor{"x": in["x"], "table": table}
	want, err := ref.RunTensors(withTable)
	require.NoError(t, err)
	for _, th := range []int{1, 2} {
		s, err := NewSession(build(false), WithMode(ModeInt8), WithThreads(th))
		require.NoError(t, err)
		require.Less(t, len(s.steps), len(ref.steps), "constant steps folded")
		for _, st := range s.steps {
			require.NotEqual(t, "Gather", st.node.OpType)
		}
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		for name, w := range want {
			require.Equal(t, w.Data, got[name].Data, name)
		}
		// a second run reads the folded constants again, unchanged
		got, err = s.RunTensors(in)
		require.NoError(t, err)
		for name, w := range want {
			require.Equal(t, w.Data, got[name].Data, name)
		}
	}
}
