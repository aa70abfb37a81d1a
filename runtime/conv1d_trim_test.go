package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// tcnNet is two TCN TemporalBlocks as the reference code exports them: causal
// Conv1d padded (k-1)·d on both sides, Chomp1d (a Slice to -pad), ReLU, a
// residual Add; plus a strided Conv whose first and last outputs a Slice drops
// (folded: within the pads) and a Conv trimmed by more than its padding (kept).
func tcnNet(seed int64, length graph.Dim) *graph.Model {
	b := newMB(seed)
	x := b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 6}, length)
	y := x
	cin := 6
	for _, d := range []int{1, 4} {
		pad := 2 * d
		h := b.conv1d(y, cin, 12, 3, 1, pad, d, 1)
		h = b.Node("Relu", []string{b.Node("Slice", []string{h, b.i64(0), b.i64(int64(-pad)), b.i64(2), b.i64(1)})})
		h = b.conv1d(h, 12, 12, 3, 1, pad, d, 1)
		h = b.Node("Relu", []string{b.Node("Slice", []string{h, b.i64(0), b.i64(int64(-pad)), b.i64(2)})})
		res := y
		if cin != 12 {
			res = b.conv1d(y, cin, 12, 1, 1, 0, 1, 1)
		}
		y = b.Node("Relu", []string{b.Node("Add", []string{h, res})})
		cin = 12
	}
	s := b.conv1d(y, 12, 12, 3, 2, 2, 1, 1)
	s = b.Node("Slice", []string{s, b.i64(1), b.i64(-1), b.i64(-1)})
	k := b.conv1d(y, 12, 12, 3, 1, 1, 1, 1)
	k = b.Node("Slice", []string{k, b.i64(0), b.i64(-2), b.i64(2)})
	b.Output(s, k)
	return b.Model()
}

func countOps(s *Session, op string) int {
	n := 0
	for _, nd := range s.model.Graph.Nodes {
		if nd.OpType == op {
			n++
		}
	}
	return n
}

// TestConvTrimFold: the Chomp1d Slices fold into the Conv pads (float32, at
// static and symbolic length, and through the Quantize/Dequantize pair of a
// QDQ graph), with the outputs of the graph as written.
func TestConvTrimFold(t *testing.T) {
	for _, tc := range []struct {
		name   string
		length graph.Dim
		run    int
	}{
		{"static", graph.Dim{Size: 50}, 50},
		{"symbolic", graph.Dim{Size: -1, Param: "L"}, 45},
	} {
		m := tcnNet(7, tc.length)
		in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(3)), []int{1, 6, tc.run}, -2, 2)}
		ref, err := NewSession(m, WithMode(ModeFloat), WithGraphOptimization(false))
		require.NoError(t, err)
		want, err := ref.RunTensors(in)
		require.NoError(t, err)
		s, err := NewSession(m, WithMode(ModeFloat))
		require.NoError(t, err)
		require.Equal(t, 1, countOps(s, "Slice"), "%s: only the over-trimmed Conv keeps its Slice", tc.name)
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		requireClose(t, want, got, 2e-5)
	}
	m := tcnNet(8, graph.Dim{Size: 40})
	rng := rand.New(rand.NewSource(4))
	q := qdqify(t, m, map[string]*graph.Tensor{"x": randInput(rng, []int{1, 6, 40}, -2, 2)}, qdqOptions{})
	in := map[string]*graph.Tensor{"x": randInput(rng, []int{1, 6, 40}, -2, 2)}
	flat, err := NewSession(q, WithMode(ModeInt8), withoutConv1D())
	require.NoError(t, err)
	want, err := flat.RunTensors(in)
	require.NoError(t, err)
	s, err := NewSession(q, WithMode(ModeInt8))
	require.NoError(t, err)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	requireClose(t, want, got, 0) // bit-identical
	slices := 0
	for _, p := range s.Placement {
		if p.OpType == "Slice" {
			slices++
		}
	}
	require.Equal(t, 1, slices)
}
