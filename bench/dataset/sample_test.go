package dataset

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestFloat32Sample: one sample is what Batch returns for it, for IDX pixels (the
// fast path) and preprocessed images; a wrong index or buffer size is an error.
func TestFloat32Sample(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
		in   *graph.Value
		o    Options
	}{
		{"idx", "../../testdata/fashion-mnist", input("input", graph.Float32, -1, 1, 28, 28), Options{Split: "t10k", Limit: 5}},
		{"images", exported + "/images", input("input", graph.Float32, -1, 3, -1, -1),
			Options{Preprocess: "resize=20,24,mean=0.5,0.5,0.5,std=0.2,0.2,0.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Inputs = []*graph.Value{tc.in}
			s, err := Open(tc.path, tc.o)
			require.NoError(t, err)
			require.Greater(t, s.Len(), 2)
			for i := 0; i < s.Len(); i++ {
				b, err := s.Batch(i, 1)
				require.NoError(t, err)
				want := b["input"].F32()
				got := make([]float32, len(want))
				require.NoError(t, s.Float32Sample(i, got))
				assert.Equal(t, want, got, "sample %d", i)
			}
			n := s.SampleShapes(0)["input"]
			require.ErrorContains(t, s.Float32Sample(s.Len(), make([]float32, graph.NumElements(n))), "outside the")
			require.Error(t, s.Float32Sample(-1, make([]float32, graph.NumElements(n))))
			if tc.name == "images" {
				require.ErrorContains(t, s.Float32Sample(0, make([]float32, 7)), "7 were expected")
			}
		})
	}
}

// TestFloat32SampleInputs: a sample of a model with several inputs (token ids and a
// mask, int64 in the files) is each input's values in turn, in the order the set was
// opened for, as float32 integers.
func TestFloat32SampleInputs(t *testing.T) {
	dir := t.TempDir()
	ids := graph.FromInt64([]int{2, 3}, []int64{5, 6, 7, 8, 9, 10})
	mask := graph.FromInt64([]int{2, 3}, []int64{1, 1, 0, 1, 1, 1})
	writeNPZ(t, dir+"/s.npz", map[string]*graph.Tensor{"ids": ids, "mask": mask}, false)
	s, err := Open(dir, Options{Inputs: []*graph.Value{input("mask", graph.Int64, -1, 3), input("ids", graph.Int64, -1, 3)}})
	require.NoError(t, err)
	got := make([]float32, 6)
	require.NoError(t, s.Float32Sample(1, got))
	assert.Equal(t, []float32{1, 1, 1, 8, 9, 10}, got)
	require.ErrorContains(t, s.Float32Sample(1, make([]float32, 5)), "5 were expected")
	require.ErrorContains(t, s.Float32Sample(1, make([]float32, 7)), "holds 6 values; 7 were expected")
}
