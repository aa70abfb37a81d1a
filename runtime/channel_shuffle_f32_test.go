package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// TestChannelShuffleNHWCF32 checks the standalone channels-last float32
// channel shuffle and the fused Concat + shuffle + Slice step against the
// definition (shuffled channel j·g + i is concatenated channel i·(C/g) + j),
// with the output padding zeroed: ShuffleNetV2-0.5's channel counts (the
// two-group interleave kernel, with and without padding), three groups, an
// odd range, batch 2, 1 and 2 threads.
func TestChannelShuffleNHWCF32(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	nhwc := func(n, h, w, c int) *graph.Tensor {
		x := graph.NewTensor(graph.Float32, []int{n, h, w, pixelStride(c)})
		xd := x.F32()
		for p := 0; p < len(xd)/pixelStride(c); p++ {
			for j := 0; j < c; j++ {
				xd[p*pixelStride(c)+j] = r.Float32()*2 - 1
			}
		}
		return x
	}
	// want: the shuffled channels [lo, hi) of the concatenation of xs.
	want := func(xs []*graph.Tensor, cs []int, g, lo, hi int) []float32 {
		c := 0
		for _, v := range cs {
			c += v
		}
		pixels := graph.NumElements(xs[0].Shape[:3])
		so := pixelStride(hi - lo)
		y := make([]float32, pixels*so)
		for p := 0; p < pixels; p++ {
			for o := lo; o < hi; o++ {
				src := (o%g)*(c/g) + o/g
				i := 0
				for src >= cs[i] {
					src -= cs[i]
					i++
				}
				y[p*so+o-lo] = xs[i].F32()[p*pixelStride(cs[i])+src]
			}
		}
		return y
	}
	for _, tc := range []struct {
		name   string
		n, hw  int
		cs     []int
		g      int
		ranges []int64
	}{
		{"28x28 2x24 halves", 1, 28, []int{24, 24}, 2, []int64{0, 24, 24, 48}},
		{"14x14 2x48 halves", 1, 14, []int{48, 48}, 2, []int64{0, 48, 48, 96}},
		{"7x7 2x96 whole", 1, 7, []int{96, 96}, 2, []int64{0, 192}},
		{"batch 2, 2x20 halves", 2, 5, []int{20, 20}, 2, []int64{0, 20, 20, 40}},
		{"three groups", 1, 6, []int{12, 12, 12}, 3, []int64{0, 36}},
		{"odd range", 1, 6, []int{16, 16}, 2, []int64{3, 20}},
	} {
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s, %d threads", tc.name, th), func(t *testing.T) {
				xs := make([]*graph.Tensor, len(tc.cs))
				for i, c := range tc.cs {
					xs[i] = nhwc(tc.n, tc.hw, tc.hw, c)
				}
				k, err := newNHWCShuffleKernel(tc.cs, tc.g, tc.ranges)
				require.NoError(t, err)
				got, err := k.Run(&ExecContext{Threads: th}, xs)
				require.NoError(t, err)
				require.Len(t, got, len(tc.ranges)/2)
				for o := range got {
					require.Equal(t, want(xs, tc.cs, tc.g, int(tc.ranges[2*o]), int(tc.ranges[2*o+1])), got[o].F32(), "output %d", o)
				}
				if len(tc.cs) == 1 || tc.ranges[0] != 0 {
					return
				}
				// The standalone shuffle of the concatenation.
				c := 0
				for _, v := range tc.cs {
					c += v
				}
				cat := nhwc(tc.n, tc.hw, tc.hw, c)
				sc := pixelStride(c)
				for p := 0; p < len(cat.F32())/sc; p++ {
					off := 0
					for i, ci := range tc.cs {
						copy(cat.F32()[p*sc+off:p*sc+off+ci], xs[i].F32()[p*pixelStride(ci):])
						off += ci
					}
				}
				y, err := (&channelShuffleKernel{g: tc.g, c: c, nhwc: true}).Run(&ExecContext{Threads: th}, []*graph.Tensor{cat})
				require.NoError(t, err)
				require.Equal(t, want([]*graph.Tensor{cat}, []int{c}, tc.g, 0, c), y[0].F32())
			})
		}
	}
}
