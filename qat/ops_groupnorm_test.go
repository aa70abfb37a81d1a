package qat

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestGroupNormGradient: GroupNormalization's forward pass is the runtime's and its
// gradients (input, scale, bias) match finite differences, with scale and bias per
// group (opset 18) and per channel (opset 21), after a convolution as in a
// detection head.
func TestGroupNormGradient(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for _, tc := range []struct {
		opset  int64
		affine int // values of scale and bias
	}{
		{18, 2},
		{21, 6},
	} {
		t.Run(fmt.Sprintf("opset %d", tc.opset), func(t *testing.T) {
			m := tinyModel{[]int{3, 3, 3}, []*graph.Node{
				node("Conv", []string{"x", "w"}, "c", ints("pads", 1, 1, 1, 1)),
				node("GroupNormalization", []string{"c", "s", "b"}, "y", intAttr("num_groups", 2), floatAttr("epsilon", 1e-4))},
				map[string]*graph.Tensor{"w": randTensor(rng, 0.5, 6, 3, 3, 3), "s": randTensor(rng, 1, tc.affine), "b": randTensor(rng, 0.5, tc.affine)}}.model()
			m.Opsets[""] = tc.opset
			n, err := New(m, Config{FloatOnly: true, Threads: 2})
			require.NoError(t, err)
			checkForwardMatchesRuntime(t, m, n, 3)
			checkGrads(t, n, 3, false)
		})
	}
	t.Run("scale of the wrong size", func(t *testing.T) {
		m := tinyModel{[]int{4, 2}, []*graph.Node{node("GroupNormalization", []string{"x", "s", "b"}, "y", intAttr("num_groups", 2))},
			map[string]*graph.Tensor{"s": randTensor(rng, 1, 4), "b": randTensor(rng, 1, 4)}}.model()
		m.Opsets[""] = 18
		_, err := New(m, Config{FloatOnly: true})
		require.ErrorContains(t, err, `GroupNormalization "y_node": input 1 ("s") has shape [4], expected [2] at opset 18`)
	})
}
