package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// Sequence inputs in .npz files: NAME.0, NAME.1, ... (NAME.empty for none), one
// sample per file, each file a batch of its own; elements converted to the
// element type; the written form (SeqArrays) reads back as the same sequence.
func TestNPZSequenceInputs(t *testing.T) {
	dir := t.TempDir()
	ins := []*graph.Value{
		{Name: "xs", DType: graph.Float32, Seq: true, Shape: graph.Shape{{Size: -1}, {Size: 2}}, HasShape: true},
		{Name: "k", DType: graph.Int64, Shape: graph.Shape{}, HasShape: true},
	}
	write := func(name string, arrays ...NamedTensor) {
		var b bytes.Buffer
		require.NoError(t, WriteNPZ(&b, arrays))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644))
	}
	k := graph.FromInt64([]int{}, []int64{3})
	three, err := SeqArrays("xs", graph.NewSequence(graph.Float64, []*graph.Tensor{
		f64([]int{1, 2}, 1, 2), f64([]int{3, 2}, 1, 2, 3, 4, 5, 6), f64([]int{0, 2})}))
	require.NoError(t, err)
	write("a.npz", append(three, NamedTensor{Name: "k", Tensor: k})...)
	empty, err := SeqArrays("xs", graph.NewSequence(graph.Float32, nil))
	require.NoError(t, err)
	assert.Equal(t, "xs.empty", empty[0].Name)
	write("b.npz", append(empty, NamedTensor{Name: "k", Tensor: k})...)
	write("c.npz", NamedTensor{Name: "xs.0", Tensor: graph.FromFloat32([]int{2, 2}, []float32{7, 8, 9, 10})}, NamedTensor{Name: "k", Tensor: k})

	s, err := Open(dir, Options{Inputs: ins})
	require.NoError(t, err)
	require.Equal(t, 3, s.Len())
	for i := 0; i < 3; i++ {
		assert.Equal(t, i+1, s.GroupEnd(i), "a sequence sample is a batch of its own")
	}
	_, err = s.Batch(0, 2)
	require.Error(t, err)
	want := map[int][][]int{0: {{1, 2}, {3, 2}, {0, 2}}, 1: {}, 2: {{2, 2}}}
	for i := 0; i < 3; i++ {
		b, err := s.Batch(i, 1)
		require.NoError(t, err)
		elems, ok := b["xs"].SeqElems()
		require.True(t, ok, "sample %d", i)
		assert.Equal(t, graph.Float32, b["xs"].DType)
		shapes := [][]int{}
		for _, e := range elems {
			assert.Equal(t, graph.Float32, e.DType)
			shapes = append(shapes, e.Shape)
		}
		assert.Equal(t, want[i], shapes, "sample %d", i)
		assert.Equal(t, []int64{3}, b["k"].Data)
	}
	b, err := s.Batch(0, 1)
	require.NoError(t, err)
	e, _ := b["xs"].SeqElems()
	assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, e[1].F32())
}

func f64(shape []int, v ...float64) *graph.Tensor {
	return &graph.Tensor{DType: graph.Float64, Shape: shape, Data: append([]float64{}, v...)}
}
