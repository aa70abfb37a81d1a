package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// TestActKernelSplit: the standalone activation step (GELU, and the other
// kernels.Act) runs on the caller below 2·actParallelMin elements at 2
// threads, is split over the pool from there on, and gives bit for bit the
// one-call result either way: sizes that are not multiples of the vector
// width or of actBlock keep their Go tail, and NaN, ±Inf and -0 pass
// through as in one call.
func TestActKernelSplit(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for _, act := range []kernels.Act{kernels.ActGELU, kernels.ActSiLU, kernels.ActSigmoid, kernels.ActHardSwish} {
		for _, tc := range []struct {
			n     int
			split bool
		}{
			{1, false}, {77, false}, {2*actParallelMin - 1, false},
			{2 * actParallelMin, true}, {2*actParallelMin + 13, true}, {128*40*40 + 5, true},
		} {
			t.Run(fmt.Sprintf("%v/%d", act, tc.n), func(t *testing.T) {
				x := graph.NewTensor(graph.Float32, []int{1, tc.n})
				xd := x.F32()
				for i := range xd {
					xd[i] = float32(r.NormFloat64() * 3)
				}
				for i, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1e-30} {
					if i < len(xd) {
						xd[(i*7919)%len(xd)] = float32(v)
					}
				}
				want := make([]float32, tc.n)
				kernels.ActF32(act, want, xd)
				k := &actKernel{act: act}
				kernels.EnablePoolStats(true)
				got, err := k.Run(&ExecContext{Threads: 2}, []*graph.Tensor{x})
				st := kernels.ReadPoolStats()
				kernels.EnablePoolStats(false)
				require.NoError(t, err)
				if tc.split {
					require.Positive(t, st.Jobs, "split over the threads")
				} else {
					require.Zero(t, st.Jobs, "run on the caller")
				}
				require.Equal(t, x.Shape, got[0].Shape)
				gd := got[0].F32()
				for i := range want {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(gd[i]), "element %d of %d", i, tc.n)
				}
			})
		}
	}
}
