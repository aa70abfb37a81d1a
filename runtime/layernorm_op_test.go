package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestLayerNormOpRowsPath checks the float32 LayerNormalization operator's
// row path (no Mean/InvStdDev read) against the generic float64 path over
// last-axis and multi-axis normalisation, with and without B, at 1 and 2
// threads.
func TestLayerNormOpRowsPath(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, c := range []struct {
		shape []int
		axis  int64
		bias  bool
	}{
		{[]int{1, 576, 32}, -1, true}, {[]int{2, 7, 5, 6}, -2, false}, {[]int{3, 40}, 1, true}, {[]int{2, 3, 4}, 0, true},
	} {
		t.Run(fmt.Sprintf("%v axis %d bias %v", c.shape, c.axis, c.bias), func(t *testing.T) {
			x := randInput(rng, c.shape, -3, 3)
			ax := int(c.axis)
			if ax < 0 {
				ax += len(c.shape)
			}
			norm := c.shape[ax:]
			in := []*graph.Tensor{x, randInput(rng, norm, 0.5, 1.5)}
			if c.bias {
				in = append(in, randInput(rng, norm, -1, 1))
			}
			ref, err := layerNormKernel{axis: c.axis, eps: 1e-5, stats: true}.Run(&ExecContext{Threads: 1}, in)
			require.NoError(t, err)
			want := ref[0].F32()
			for _, th := range []int{1, 2} {
				ctx := &ExecContext{Threads: th, arena: &runArena{pool: &bufPool{}}}
				got, err := layerNormKernel{axis: c.axis, eps: 1e-5}.Run(ctx, in)
				require.NoError(t, err)
				require.Len(t, got, 1)
				require.Equal(t, x.Shape, got[0].Shape)
				for i, g := range got[0].F32() {
					require.InDelta(t, want[i], g, 2e-6*(1+math.Abs(float64(want[i]))), "element %d", i)
				}
			}
		})
	}
}
