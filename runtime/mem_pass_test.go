package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// TestMemoryPassesSplit: the channels-last global pools, the fused Concat +
// channel shuffle + Slice step and the channels-last Slice run on the caller
// below copyParallelMin elements at 2 threads (no parallel call: the pool
// counters see no job), are split from there on, and give the 1-thread
// result bit for bit either way.
func TestMemoryPassesSplit(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	nhwc := func(n, h, w, c int) *graph.Tensor {
		x := graph.NewTensor(graph.Float32, []int{n, h, w, pixelStride(c)})
		for i := range x.F32() {
			x.F32()[i] = r.Float32()*2 - 1
		}
		return x
	}
	shuf, err := newNHWCShuffleKernel([]int{116, 116}, 2, []int64{0, 116, 116, 232})
	require.NoError(t, err)
	cases := []struct {
		name  string
		k     Kernel
		in    []*graph.Tensor
		split bool
	}{
		{"global average pool 7x7x1024", &nhwcGlobalPoolKernel{c: 1024}, []*graph.Tensor{nhwc(1, 7, 7, 1024)}, false},
		{"global max pool 13x13x1000", &nhwcGlobalPoolKernel{isMax: true, c: 1000}, []*graph.Tensor{nhwc(1, 13, 13, 1000)}, false},
		{"global average pool 28x28x576, batch 2", &nhwcGlobalPoolKernel{c: 576}, []*graph.Tensor{nhwc(2, 28, 28, 576)}, true},
		{"shuffle 14x14, 2x116", shuf, []*graph.Tensor{nhwc(1, 14, 14, 116), nhwc(1, 14, 14, 116)}, false},
		{"shuffle 56x56, 2x116", shuf, []*graph.Tensor{nhwc(1, 56, 56, 116), nhwc(1, 56, 56, 116)}, true},
		{"slice 28x28", &nhwcSliceKernel{c: 232, c0: 116, cn: 116}, []*graph.Tensor{nhwc(1, 28, 28, 232)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := tc.k.Run(&ExecContext{Threads: 1}, tc.in)
			require.NoError(t, err)
			kernels.EnablePoolStats(true)
			got, err := tc.k.Run(&ExecContext{Threads: 2}, tc.in)
			st := kernels.ReadPoolStats()
			kernels.EnablePoolStats(false)
			require.NoError(t, err)
			if tc.split {
				require.Positive(t, st.Jobs, "split over the threads")
			} else {
				require.Zero(t, st.Jobs, "run on the caller")
			}
			require.Len(t, got, len(want))
			for i := range want {
				require.Equal(t, want[i].Shape, got[i].Shape)
				require.Equal(t, want[i].F32(), got[i].F32())
			}
		})
	}
}
