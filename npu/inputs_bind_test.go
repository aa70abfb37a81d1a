package npu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// bindInputs: a one-request simulation of inputs that share no batch axis (a
// time-major GRU: x [16, 1, 20] beside h0 [4, 1, 32]) runs them as bound; a single
// input with a static batch other than the request's is still refused.
func TestBindInputsNoSharedBatch(t *testing.T) {
	in := func(name string, dims ...int) *graph.Value {
		s := make(graph.Shape, len(dims))
		for i, d := range dims {
			s[i] = graph.Dim{Size: d}
		}
		return &graph.Value{Name: name, DType: graph.Float32, HasShape: true, Shape: s}
	}
	for _, tc := range []struct {
		name   string
		inputs []*graph.Value
		batch  int
		err    string
	}{
		{"time-major x and h0", []*graph.Value{in("x", 16, 1, 20), in("h0", 4, 1, 32)}, 1, ""},
		{"static batch 4, batch 1 asked", []*graph.Value{in("x", 4, 3, 8, 8)}, 1, `input "x" has a batch of 4`},
		{"no shared batch, batch 2 asked", []*graph.Value{in("x", 16, 1, 20), in("h0", 4, 1, 32)}, 2, `input "x" has a batch of 16`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &graph.Graph{Inputs: tc.inputs, Initializers: map[string]*graph.Tensor{}}
			b, err := bindInputs(g, tc.batch, nil)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []int{16, 1, 20}, b.shapes["x"])
			assert.Equal(t, []int{4, 1, 32}, b.shapes["h0"])
			assert.Empty(t, b.rebatched)
		})
	}
}
