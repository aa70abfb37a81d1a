package runtime

// The int8 channel shuffle (runtime/lower/shuffle.go): a permutation of the
// channels of each pixel of channels-last tensors, in place of the three
// Relayouts a Transpose of a channels-last view needed, with the channel
// Concat before it and the channel Slices after it folded in: ShuffleNet's
// Concat → shuffle → split is one pass that writes each half directly.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// channelShuffleI8Kernel concatenates its channels-last int8 inputs [N, H, W,
// C_i] along channels (C in all), permutes the channels (shuffled channel
// j·g + i is concatenated channel i·(C/g) + j) and writes the shuffled
// channel ranges [ranges[2k], ranges[2k+1]) as outputs (all C channels when
// ranges is nil).
type channelShuffleI8Kernel struct {
	g      int
	ranges []int64
}

func buildChannelShuffleI8(b *BuildContext) (Kernel, error) {
	n := b.Node
	g := int(n.AttrInt("group", 0))
	if g < 1 {
		return nil, b.Errorf("attribute group must be at least 1, is %d", g)
	}
	k := &channelShuffleI8Kernel{g: g, ranges: n.AttrInts("ranges", nil)}
	if k.ranges != nil && len(k.ranges) != 2*len(n.Outputs) {
		return nil, b.Errorf("attribute ranges has %d entries for %d outputs", len(k.ranges), len(n.Outputs))
	}
	return k, nil
}

func (k *channelShuffleI8Kernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if err := checkInputs(in, len(in)); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("channel shuffle: no input")
	}
	xs := make([][]int8, len(in))
	cs := make([]int, len(in))
	c := 0
	for i, x := range in {
		d, err := i8Data(x, "channel shuffle input")
		if err != nil {
			return nil, err
		}
		if len(x.Shape) != 4 || x.Shape[0] != in[0].Shape[0] || x.Shape[1] != in[0].Shape[1] || x.Shape[2] != in[0].Shape[2] {
			return nil, fmt.Errorf("channel shuffle: input %d is %v, want channels-last [N, H, W, C] like input 0 %v", i, x.Shape, in[0].Shape)
		}
		xs[i], cs[i] = d, x.Shape[3]
		c += cs[i]
	}
	ranges := k.ranges
	if ranges == nil {
		ranges = []int64{0, int64(c)}
	}
	pixels := graph.NumElements(in[0].Shape[:3])
	plan, err := planShuffle(cs, k.g, ranges)
	if err != nil {
		return nil, err
	}
	ys := make([][]int8, len(plan))
	outs := make([]*graph.Tensor, len(plan))
	for o, po := range plan {
		ys[o] = ctx.AllocI8(pixels * po.n)
		outs[o] = &graph.Tensor{DType: graph.Int8, Shape: []int{in[0].Shape[0], in[0].Shape[1], in[0].Shape[2], po.n}, Data: ys[o]}
	}
	nnParallel(min(ctx.Threads, max(1, pixels*c/parallelMinWork)), pixels, func(p0, p1 int) {
		for o := range plan {
			if po := &plan[o]; po.pair {
				// the interleave of two channel runs, 16 pairs at a time
				sa, sb := cs[po.a], cs[po.b]
				kernels.InterleavePairsI8(ys[o][p0*po.n:], po.n, xs[po.a][p0*sa+po.a0:], sa, xs[po.b][p0*sb+po.b0:], sb, po.n/2, p1-p0)
				continue
			}
			runShuffle(&plan[o], ys[o], plan[o].n, xs, cs, p0, p1)
		}
	})
	return outs, nil
}

func init() {
	Register(OpInfo{OpType: "ChannelShuffle", Domain: Int8Domain, Int8: true, Build: buildChannelShuffleI8})
}
