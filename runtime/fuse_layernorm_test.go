package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestFusedLayerNorm checks the written-out layer norm (as torch.onnx writes
// it at opset 13, with and without the affine parameters, a scalar scale)
// run as one step against the operators run one by one, at 1 and 2 threads,
// and that a tapped intermediate keeps the pattern unfused.
func TestFusedLayerNorm(t *testing.T) {
	b := newMB(41)
	b.Input("x", graph.Dim{Size: 2}, graph.Dim{Size: 9}, graph.Dim{Size: 40})
	scalar := func(v float32) string { return b.Init("c", graph.ScalarFloat32(v)) }
	axes := &graph.Attr{Name: "axes", Type: graph.AttrInts, Ints: []int64{-1}}
	var diffs []string
	ln := func(x string, scale, bias string) string {
		mean := b.Node("ReduceMean", []string{x}, axes)
		d := b.Node("Sub", []string{x, mean})
		diffs = append(diffs, d)
		v := b.Node("ReduceMean", []string{b.Node("Pow", []string{d, scalar(2)})}, axes)
		y := b.Node("Div", []string{d, b.Node("Sqrt", []string{b.Node("Add", []string{v, scalar(1e-6)})})})
		if scale != "" {
			y = b.Node("Mul", []string{y, scale})
		}
		if bias != "" {
			y = b.Node("Add", []string{y, bias})
		}
		return y
	}
	h := ln("x", b.RandInit("g", []int{40}, 1), b.RandInit("beta", []int{40}, 0.5))
	h = b.Node("Relu", []string{h})
	h = ln(h, "", "")
	h = ln(b.Node("Mul", []string{h, scalar(3)}), scalar(0.5), "")
	b.Output(h)
	m := b.Model()
	in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(5)), []int{2, 9, 40}, -4, 6)}
	ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	o := m.Graph.Outputs[0].Name
	count := func(s *Session) (fused, reduces int) {
		for _, st := range s.steps {
			if _, ok := st.kernel.(*layerNormRowsKernel); ok {
				fused++
			}
			if st.node.OpType == "ReduceMean" {
				reduces++
			}
		}
		return
	}
	for _, th := range []int{1, 2} {
		s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
		require.NoError(t, err)
		fused, reduces := count(s)
		require.Equal(t, 3, fused)
		require.Equal(t, 0, reduces)
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		require.NoError(t, CompareTensors(got[o], want[o], Tolerance{Rtol: 1e-5, Atol: 1e-5}))
	}
	// Tapping the centred tensor of the second pattern keeps it written out.
	s, err := NewSession(m, WithMode(ModeFloat), WithTaps(diffs[1]))
	require.NoError(t, err)
	fused, reduces := count(s)
	require.Equal(t, 2, fused)
	require.Equal(t, 2, reduces)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	require.NoError(t, CompareTensors(got[o], want[o], Tolerance{Rtol: 1e-5, Atol: 1e-5}))
	require.NoError(t, CompareTensors(got[diffs[1]], want[diffs[1]], Tolerance{Rtol: 1e-5, Atol: 1e-5}))
}
