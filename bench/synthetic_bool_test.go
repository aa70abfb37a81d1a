package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// A TransformerEncoder exported with its key padding mask takes a bool input
// beside the features; `bench cpu` refused to make synthetic data for it.
func TestSyntheticInputsBoolMask(t *testing.T) {
	vals := []*graph.Value{
		{Name: "input", DType: graph.Float32, HasShape: true, Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: -1, Param: "seq"}, {Size: 8}}},
		{Name: "pad", DType: graph.Bool, HasShape: true, Shape: graph.Shape{{Size: -1, Param: "batch"}, {Size: -1, Param: "seq"}}},
	}
	shapes := map[string][]int{"input": {2, 64, 8}, "pad": {2, 64}}
	in, err := SyntheticInputsFor(vals, 1, shapes, 3)
	require.NoError(t, err)
	require.Equal(t, []int{2, 64}, in["pad"].Shape)
	mask := in["pad"].Data.([]bool)
	set := 0
	for _, v := range mask {
		if v {
			set++
		}
	}
	assert.Greater(t, set, 32, "about half of the 128 values are set")
	assert.Less(t, set, 96)
	again, err := SyntheticInputsFor(vals, 1, shapes, 3)
	require.NoError(t, err)
	assert.Equal(t, mask, again["pad"].Data, "deterministic for a seed")
}
