package runtime

// The int8 channel shuffle (runtime/lower/shuffle.go): a permutation of the
// channels of each pixel of channels-last tensors, in place of the three
// Relayouts a Transpose of a channels-last view needed, with the channel
// Concat before it and the channel Slices after it folded in: ShuffleNet's
// Concat → shuffle → split is one pass that writes each half directly.

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
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
	if c%k.g != 0 {
		return nil, fmt.Errorf("channel shuffle: %d channels do not split into %d groups", c, k.g)
	}
	ranges := k.ranges
	if ranges == nil {
		ranges = []int64{0, int64(c)}
	}
	pixels := graph.NumElements(in[0].Shape[:3])
	plan := make([]shuffleOut, len(ranges)/2)
	outs := make([]*graph.Tensor, len(plan))
	for o := range plan {
		lo, hi := int(ranges[2*o]), int(ranges[2*o+1])
		if lo < 0 || hi <= lo || hi > c {
			return nil, fmt.Errorf("channel shuffle: range [%d, %d) is not within the %d channels", lo, hi, c)
		}
		plan[o] = planShuffleOut(cs, k.g, lo, hi)
		y := ctx.AllocI8(pixels * (hi - lo))
		plan[o].y = y
		outs[o] = &graph.Tensor{DType: graph.Int8, Shape: []int{in[0].Shape[0], in[0].Shape[1], in[0].Shape[2], hi - lo}, Data: y}
	}
	nnParallel(min(ctx.Threads, max(1, pixels*c/parallelMinWork)), pixels, func(p0, p1 int) {
		for _, po := range plan {
			po.run(xs, cs, p0, p1)
		}
	})
	return outs, nil
}

// shuffleOut is how one output's channels are gathered: for two groups whose
// halves each lie in one input, as an interleave of two channel runs; else
// channel by channel.
type shuffleOut struct {
	y      []int8
	n      int // channels
	pair   bool
	a, b   int // inputs of the even and odd output channels (pair)
	a0, b0 int // their first channels
	src    []int
	ch     []int
}

// planShuffleOut maps the shuffled channels [lo, hi) of the concatenation of
// inputs of cs channels to their sources.
func planShuffleOut(cs []int, g, lo, hi int) shuffleOut {
	c := 0
	for _, v := range cs {
		c += v
	}
	cpg := c / g
	locate := func(ch int) (int, int) {
		for i, v := range cs {
			if ch < v {
				return i, ch
			}
			ch -= v
		}
		return -1, -1
	}
	po := shuffleOut{n: hi - lo}
	if g == 2 && lo%2 == 0 && hi%2 == 0 {
		a, a0 := locate(lo / 2)
		a1, _ := locate(hi/2 - 1)
		b, b0 := locate(cpg + lo/2)
		b1, _ := locate(cpg + hi/2 - 1)
		if a == a1 && b == b1 {
			po.pair, po.a, po.a0, po.b, po.b0 = true, a, a0, b, b0
			return po
		}
	}
	for o := lo; o < hi; o++ {
		i, ch := locate((o%g)*cpg + o/g)
		po.src = append(po.src, i)
		po.ch = append(po.ch, ch)
	}
	return po
}

func (po *shuffleOut) run(xs [][]int8, cs []int, p0, p1 int) {
	n := po.n
	if po.pair {
		ca, cb, h := cs[po.a], cs[po.b], n/2
		for p := p0; p < p1; p++ {
			interleaveI8(po.y[p*n:(p+1)*n], xs[po.a][p*ca+po.a0:p*ca+po.a0+h], xs[po.b][p*cb+po.b0:p*cb+po.b0+h])
		}
		return
	}
	for p := p0; p < p1; p++ {
		y := po.y[p*n : (p+1)*n]
		for o, i := range po.src {
			y[o] = xs[i][p*cs[i]+po.ch[o]]
		}
	}
}

// interleaveI8 writes a[0], b[0], a[1], b[1], ... to y (len(y) = 2·len(a)).
// (Spreading four bytes at a time through 64-bit words measured slower.)
func interleaveI8(y, a, b []int8) {
	b = b[:len(a)]
	y = y[:2*len(a)]
	for j, v := range a {
		y[2*j], y[2*j+1] = v, b[j]
	}
}

func init() {
	Register(OpInfo{OpType: "ChannelShuffle", Domain: Int8Domain, Int8: true, Build: buildChannelShuffleI8})
}
