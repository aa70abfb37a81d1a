package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestLRNF32AgainstReference checks the float32 LRN kernel against the
// float64 reference (lrn: float64 sums, math.Pow) over sizes that fit the
// channels or not, the β with a closed form and one without, ranks 3 to 5,
// and the same bits at 1 and 2 threads.
func TestLRNF32AgainstReference(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, shape := range [][]int{{2, 7, 5, 3}, {1, 16, 16, 16}, {1, 3, 10}, {1, 4, 2, 3, 2}} {
		for _, k := range []lrnKernel{
			{alpha: 1e-4, beta: 0.75, bias: 1, size: 5},
			{alpha: 0.5, beta: 0.5, bias: 2, size: 3},
			{alpha: 3, beta: 1, bias: 1, size: 2},
			{alpha: 0.2, beta: 0.6, bias: 1.5, size: 6},
			{alpha: 0.1, beta: 0.75, bias: 1, size: 1},
			{alpha: 0.1, beta: 0.75, bias: 1, size: 20},
		} {
			t.Run(fmt.Sprintf("%v size %d beta %g", shape, k.size, k.beta), func(t *testing.T) {
				x := graph.NewTensor(graph.Float32, shape)
				x64 := graph.NewTensor(graph.Float64, shape)
				for i := range x.F32() {
					v := float32(rng.NormFloat64() * 3)
					x.F32()[i], x64.Data.([]float64)[i] = v, float64(v)
				}
				ref, err := lrn[float64](k, x64)
				require.NoError(t, err)
				want := ref[0].Data.([]float64)
				one := lrnF32(1, k, x)
				for i, g := range one.F32() {
					require.InDelta(t, want[i], float64(g), 2e-6*math.Abs(want[i])+1e-30, "element %d", i)
				}
				require.Equal(t, one.F32(), lrnF32(2, k, x).F32(), "1 vs 2 threads")
			})
		}
	}
}
