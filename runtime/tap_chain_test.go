package runtime

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// floatActivations lists a model's float32 inputs and node outputs.
func floatActivations(t *testing.T, m *graph.Model) []string {
	m = m.Clone()
	_, err := m.InferShapes(graph.InferOptions{Eval: ConstEval()})
	require.NoError(t, err)
	g := m.Graph
	var names []string
	for _, in := range g.Inputs {
		names = append(names, in.Name)
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if v := g.Values[o]; o != "" && v != nil && v.DType == graph.Float32 {
				names = append(names, o)
			}
		}
	}
	return names
}

// A session with WithTapPieces streams every tapped tensor exactly once, whole or in
// ordered pieces, with the values WithTaps returns; the elementwise chains of the
// exported detector (Conv -> HardSigmoid -> Mul, Resize -> Add) run in pieces,
// written over their input; the outputs do not change.
func TestTapPiecesMatchTaps(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "detector_opset13.onnx"))
	require.NoError(t, err)
	names := floatActivations(t, m)
	ref, err := NewSession(m, WithMode(ModeFloat), WithTaps(names...))
	require.NoError(t, err)
	whole := map[string][]float32{}
	addr := map[string]uintptr{}
	pieces := map[string][]float32{}
	stream, err := NewSession(m, WithMode(ModeFloat), WithTaps(names...), withTapPieceLen(1000),
		WithTapFunc(func(name string, tt *graph.Tensor) error {
			_, dup := whole[name]
			assert.False(t, dup, "tensor %q streamed twice", name)
			whole[name] = append([]float32(nil), tt.F32()...)
			addr[name] = rangeOf(tt.Data).lo
			return nil
		}),
		WithTapPieces(func(name string, p []float32, off, total int) error {
			assert.Equal(t, len(pieces[name]), off, "tensor %q: pieces out of order", name)
			assert.LessOrEqual(t, off+len(p), total)
			pieces[name] = append(pieces[name], p...)
			return nil
		}))
	require.NoError(t, err)
	require.NotEmpty(t, stream.chains, "the detector's activation chains run in pieces")
	x := randF32(rand.New(rand.NewSource(5)), 2, 3, 64, 64)
	want, err := ref.RunTensors(map[string]*graph.Tensor{"images": x})
	require.NoError(t, err)
	got, err := stream.RunTensors(map[string]*graph.Tensor{"images": x})
	require.NoError(t, err)
	for _, o := range stream.Outputs() {
		assert.Equal(t, want[o.Name].F32(), got[o.Name].F32(), o.Name)
	}
	inPiece := 0
	for _, name := range names {
		w, p := whole[name], pieces[name]
		assert.False(t, w != nil && p != nil, "tensor %q streamed whole and in pieces", name)
		if p != nil {
			inPiece++
			w = p
		}
		assert.Equal(t, want[name].F32(), w, name)
	}
	assert.Positive(t, inPiece)
	inPlace := 0
	for _, ch := range stream.chains {
		if !ch.inPlace {
			continue
		}
		var xn, yn string
		for name, id := range stream.slots {
			switch id {
			case ch.x:
				xn = name
			case ch.y:
				yn = name
			}
		}
		assert.Equal(t, addr[xn], addr[yn], "chain %s -> %s is written over its input", xn, yn)
		inPlace++
	}
	assert.Positive(t, inPlace)
}

// RunTensorsOwned empties the caller's map and computes what RunTensors computes.
func TestRunTensorsOwned(t *testing.T) {
	m, err := graph.Load(filepath.Join("..", "testdata", "exported", "detector_opset13.onnx"))
	require.NoError(t, err)
	s, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	x := randF32(rand.New(rand.NewSource(6)), 1, 3, 64, 64)
	want, err := s.RunTensors(map[string]*graph.Tensor{"images": x})
	require.NoError(t, err)
	in := map[string]*graph.Tensor{"images": x.Clone()}
	got, err := s.RunTensorsOwned(in)
	require.NoError(t, err)
	assert.Empty(t, in)
	assert.Equal(t, want["pred"].F32(), got["pred"].F32())
}
