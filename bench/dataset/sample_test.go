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
