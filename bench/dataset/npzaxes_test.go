package dataset

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// Arrays are read against the model's input ranks: rank r+1 lists whole inputs,
// rank r is a batch along axis 0 only where axis 0 is the batch axis, rank r-1 is
// one sample; anything else is an error naming the array.
func TestNPZSampleAxes(t *testing.T) {
	f32 := func(shape ...int) *graph.Tensor { return graph.FromFloat32(shape, seq(graph.NumElements(shape))) }
	// A detector's post-processing fed its head tensors: boxes [6,4] (no batch
	// axis), scores [1,6,3] and the image [1,3,4,4].
	post := []*graph.Value{input("boxes", graph.Float32, 6, 4), input("scores", graph.Float32, 1, 6, 3), input("image", graph.Float32, 1, 3, 4, 4)}
	static4 := []*graph.Value{input("x", graph.Float32, 4, 2), input("y", graph.Float32, 4, 3)}
	for _, tc := range []struct {
		name    string
		ins     []*graph.Value
		arrays  map[string]*graph.Tensor
		samples int
		want    map[string][]int // shapes of batch [0, 1)
		err     []string
	}{
		{name: "post-processing inputs as declared: one sample", ins: post,
			arrays:  map[string]*graph.Tensor{"boxes": f32(6, 4), "scores": f32(1, 6, 3), "image": f32(1, 3, 4, 4)},
			samples: 1, want: map[string][]int{"boxes": {6, 4}, "scores": {1, 6, 3}, "image": {1, 3, 4, 4}}},
		{name: "post-processing, two samples listed along a new axis 0", ins: post,
			arrays:  map[string]*graph.Tensor{"boxes": f32(2, 6, 4), "scores": f32(2, 1, 6, 3), "image": f32(2, 3, 4, 4)},
			samples: 2, want: map[string][]int{"boxes": {6, 4}, "scores": {1, 6, 3}, "image": {1, 3, 4, 4}}},
		{name: "symbolic batch: rank r is a batch, r-1 one sample, r+1 a list", ins: []*graph.Value{input("a", graph.Float32, -1, 3), input("b", graph.Float32, -1, 2), input("c", graph.Float32, -1, 2)},
			arrays:  map[string]*graph.Tensor{"a": f32(1, 3), "b": f32(2), "c": f32(1, 1, 2)},
			samples: 1, want: map[string][]int{"a": {1, 3}, "b": {1, 2}, "c": {1, 2}}},
		{name: "static batch 4 shared by every input: rows", ins: static4,
			arrays:  map[string]*graph.Tensor{"x": f32(8, 2), "y": f32(8, 3)},
			samples: 8, want: map[string][]int{"x": {1, 2}, "y": {1, 3}}},
		{name: "rank r+2", ins: post,
			arrays: map[string]*graph.Tensor{"boxes": f32(1, 1, 6, 4), "scores": f32(1, 6, 3), "image": f32(1, 3, 4, 4)},
			err:    []string{`array "boxes"`, "[1,1,6,4] (rank 4)", `input "boxes" [6,4]`, "give rank 2", "3 for a list"}},
		{name: "whole input of the wrong size", ins: post,
			arrays: map[string]*graph.Tensor{"boxes": f32(5, 4), "scores": f32(1, 6, 3), "image": f32(1, 3, 4, 4)},
			err:    []string{`array "boxes"`, "dimension 0 is 5, not 6"}},
		{name: "symbolic leading sizes that differ", ins: []*graph.Value{input("boxes", graph.Float32, -1, 4), input("scores", graph.Float32, -1, 6, 3)},
			arrays: map[string]*graph.Tensor{"boxes": f32(6, 4), "scores": f32(1, 6, 3)},
			err:    []string{`"boxes" [6,4]`, `"scores" [1,6,3]`, "different numbers of samples (6 and 1)", "leading axis of 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeNPZ(t, filepath.Join(dir, "s.npz"), tc.arrays, false)
			s, err := Open(dir, Options{Inputs: tc.ins})
			if tc.err != nil {
				require.Error(t, err)
				for _, w := range tc.err {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.samples, s.Len())
			b, err := s.Batch(0, 1)
			require.NoError(t, err)
			for name, shape := range tc.want {
				assert.Equal(t, shape, b[name].Shape, name)
			}
			if tc.samples > 1 {
				// The second sample's values are the second slice of each array.
				b1, err := s.Batch(1, 1)
				require.NoError(t, err)
				for name := range tc.want {
					per := graph.NumElements(b1[name].Shape)
					if tc.arrays[name].Shape[0] == tc.samples {
						assert.Equal(t, seq(2 * per)[per:], b1[name].F32(), name)
					}
				}
			}
		})
	}
}

// Whole-input samples (leading size not a batch axis) are not stacked into one
// batch: the error says to run one per batch, and GroupEnd makes each sample a
// group of its own, so that batching by GroupEnd (calibration, compare, the
// accuracy-budget evaluator) runs them one per batch at any --batch (bigru_h0 of
// --unseen7: `quantize --accuracy-budget` failed with that error).
func TestWholeSamplesOnePerBatch(t *testing.T) {
	dir := t.TempDir()
	writeNPZ(t, filepath.Join(dir, "s.npz"), map[string]*graph.Tensor{
		"boxes": graph.FromFloat32([]int{2, 6, 4}, seq(48)), "scores": graph.FromFloat32([]int{2, 1, 6}, seq(12))}, false)
	s, err := Open(dir, Options{Inputs: []*graph.Value{input("boxes", graph.Float32, 6, 4), input("scores", graph.Float32, 1, 6)}})
	require.NoError(t, err)
	require.Equal(t, 2, s.Len())
	_, err = s.Batch(0, 2)
	assert.ErrorContains(t, err, "--batch 1")
	assert.Equal(t, 1, s.GroupEnd(0))
	assert.Equal(t, 2, s.GroupEnd(1))
	b, err := s.Batch(1, 1)
	require.NoError(t, err)
	assert.Equal(t, []int{6, 4}, b["boxes"].Shape)
}
