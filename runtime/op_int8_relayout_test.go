package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// TestRelayoutStridedMatchesTransposeBytes: the int8 Relayout of a general
// permutation (Swin's window partitions, the q/k/v head split) runs on the
// float32 executor's parallel strided copy; it must give TransposeBytes'
// bytes, with and without a reshape template, at 1 and 2 threads.
func TestRelayoutStridedMatchesTransposeBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct {
		shape, perm []int
		tmpl        []int64
	}{
		{[]int{8, 49, 3, 3, 32}, []int{2, 0, 3, 1, 4}, nil},
		{[]int{8, 3, 49, 32}, []int{0, 2, 1, 3}, []int64{8, 49, 96}},
		{[]int{1, 8, 7, 8, 7, 96}, []int{0, 1, 3, 2, 4, 5}, []int64{-1, 7, 7, 96}},
		{[]int{2, 3, 4, 5}, []int{3, 2, 1, 0}, nil},
		{[]int{1, 1, 300, 40}, []int{0, 1, 3, 2}, nil},
	} {
		n := graph.NumElements(c.shape)
		x := make([]int8, n)
		for i := range x {
			x[i] = int8(r.IntN(256) - 128)
		}
		want := make([]byte, n)
		qtensor.TransposeBytes(qtensor.I8AsBytes(x), c.shape, c.perm, want, 0, 1)
		wantShape := qtensor.PermuteShape(c.shape, c.perm)
		if c.tmpl != nil {
			var err error
			wantShape, err = qtensor.ResolveShapeTemplate(wantShape, c.tmpl)
			require.NoError(t, err)
		}
		for _, th := range []int{1, 2} {
			k := &relayoutKernel{perm: c.perm, shape: c.tmpl}
			out, err := k.Run(&ExecContext{Threads: th}, []*graph.Tensor{graph.FromInt8(c.shape, x)})
			require.NoError(t, err)
			require.Equal(t, wantShape, out[0].Shape, "%v perm %v", c.shape, c.perm)
			require.Equal(t, want, qtensor.I8AsBytes(out[0].Data.([]int8)), "%v perm %v threads %d", c.shape, c.perm, th)
		}
	}
}
