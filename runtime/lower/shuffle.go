package lower

// ShuffleNet's channel shuffle on int8 data. torch.onnx writes it as Reshape
// [N, C, H, W] → [N, g, C/g, H, W], Transpose (0, 2, 1, 3, 4), Reshape back to
// [N, C, H, W]. On a channels-last tensor the first Reshape is a view, but the
// Transpose of a view had to go back to the logical layout: a Relayout to NCHW,
// a Relayout for the transposition, and one back to channels-last before the
// next convolution, around every unit. The three together only permute the
// channels of each pixel, which ChannelShuffle does in the channels-last layout.

import (
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// shufflePerm is the Transpose of a channel shuffle on [N, g, C/g, H, W].
var shufflePerm = []int{0, 2, 1, 3, 4}

// lowerChannelShuffle lowers a Transpose that is the middle of a channel
// shuffle of a channels-last rank-4 tensor (x is the first Reshape's view) to
// one ChannelShuffle, and reports whether it did. The result is the same view
// of a shuffled channels-last tensor, so the Reshape after it is a view again.
func (l *lowerer) lowerChannelShuffle(n *graph.Node, x *qref) bool {
	g, ok := channelShuffleGroups(x, n.AttrIntList("perm"))
	if !ok {
		return false
	}
	out := l.fresh(n.Outputs[0] + "_q")
	l.emit(n, "ChannelShuffle", []string{x.store}, []string{out}, graph.IntAttr("group", int64(g)))
	r := *x
	r.store = out
	r.shape = permuteDims(x.shape, shufflePerm)
	l.state(n.Outputs[0]).q = &r
	return true
}

// channelShuffleGroups returns the group count g when x is a channels-last
// [N, C, H, W] tensor viewed as [N, g, C/g, H, W] and perm is (0, 2, 1, 3, 4).
func channelShuffleGroups(x *qref, perm []int) (int, bool) {
	if !slices.Equal(perm, shufflePerm) || len(x.base) != 4 || len(x.shape) != 5 ||
		!slices.Equal(x.perm, qtensor.ChannelsLastPerm(4)) {
		return 0, false
	}
	b, s := x.base, x.shape
	if !b[1].Known() || !s[1].Known() || !s[2].Known() || s[1].Size < 1 || s[1].Size*s[2].Size != b[1].Size {
		return 0, false
	}
	if !sameDim(b[0], s[0]) || !sameDims(b[2:], s[3:]) {
		return 0, false
	}
	return s[1].Size, true
}

// fuseChannelShuffles folds into each ChannelShuffle the channel Concat that
// alone feeds it and the channel Slices that alone read it: ShuffleNet's
// Concat of the two branches, shuffle, and split into the next unit's two
// halves become one pass over the pixels, which writes each half directly.
// The inputs are then concatenated along channels before the shuffle, and
// the attribute ranges ([start, end) pairs of shuffled channels) lists the
// outputs.
func (l *lowerer) fuseChannelShuffles(roots map[string]bool) {
	users, prod := l.emittedUsers()
	dead := map[*graph.Node]bool{}
	for _, n := range l.nodes {
		if n.Domain != Domain || n.OpType != "ChannelShuffle" || len(n.Inputs) != 1 || len(n.Outputs) != 1 {
			continue
		}
		in, out := n.Inputs[0], n.Outputs[0]
		if c := prod[in]; c != nil && c.Domain == Domain && c.OpType == "Concat" && len(users[in]) == 1 && !roots[in] {
			if a := c.AttrInt("axis", 0); (a == 3 || a == -1) && l.channelsLastRank4(in) {
				n.Inputs = append([]string(nil), c.Inputs...)
			}
		}
		if roots[out] || len(users[out]) == 0 {
			continue
		}
		var ranges []int64
		var outs []string
		for _, s := range users[out] {
			lo, hi, ok := l.channelSliceRange(s, out)
			if !ok {
				ranges = nil
				break
			}
			ranges = append(ranges, lo, hi)
			outs = append(outs, s.Outputs[0])
		}
		if ranges != nil {
			n.Outputs = outs
			n.Attrs["ranges"] = graph.Int64sAttr("ranges", ranges)
			for _, s := range users[out] {
				dead[s] = true
			}
		}
	}
	// The Concats fall out with liveNodes (nothing reads them now); the
	// Slices' outputs are the shuffle's, so they go here.
	l.nodes = slices.DeleteFunc(l.nodes, func(n *graph.Node) bool { return dead[n] })
}

// channelsLastRank4 reports whether a lowered tensor is known to be rank 4
// with a static channel (last) axis.
func (l *lowerer) channelsLastRank4(name string) bool {
	for _, v := range l.vals {
		if r := v.q; r != nil && r.store == name {
			return len(r.base) == 4 && r.base[1].Known() && slices.Equal(r.perm, qtensor.ChannelsLastPerm(4))
		}
	}
	return false
}

// channelSliceRange returns the channel range [lo, hi) a lowered Slice node
// takes from the channels-last rank-4 tensor x (constant bounds on axis 3,
// step 1, in range).
func (l *lowerer) channelSliceRange(s *graph.Node, x string) (lo, hi int64, ok bool) {
	if s.Domain != Domain || s.OpType != "Slice" || len(s.Inputs) < 4 || len(s.Inputs) > 5 || s.Inputs[0] != x ||
		len(s.Outputs) != 1 || len(s.Attrs) != 0 {
		return 0, 0, false
	}
	var v [4][]int64
	for i, name := range s.Inputs[1:] {
		t := l.constOf(name)
		if t == nil {
			t = l.inits[name]
		}
		if t == nil {
			return 0, 0, false
		}
		var err error
		if v[i], err = t.AsInt64(); err != nil || len(v[i]) != 1 {
			return 0, 0, false
		}
	}
	if a := v[2][0]; a != 3 && a != -1 || v[3] != nil && v[3][0] != 1 {
		return 0, 0, false
	}
	var c int64
	for _, r := range l.vals {
		if q := r.q; q != nil && q.store == x && len(q.base) == 4 && q.base[1].Known() {
			c = int64(q.base[1].Size)
		}
	}
	if c == 0 {
		return 0, 0, false
	}
	lo, hi = v[0][0], v[1][0]
	if lo < 0 {
		lo += c
	}
	if hi < 0 {
		hi += c
	}
	lo, hi = max(0, min(c, lo)), max(0, min(c, hi))
	return lo, hi, lo < hi
}

// inferChannelShuffle: the inputs are channels-last [N, H, W, C_i], shuffled
// after their concatenation along C; one output per range of the attribute
// ranges ([N, H, W, end - start]), or one of all the channels.
func inferChannelShuffle(c *graph.InferContext) ([]*graph.Value, []*graph.Tensor, error) {
	s, err := c.InputShape(0)
	if err != nil {
		return nil, nil, err
	}
	if s == nil {
		return []*graph.Value{{DType: graph.Int8}}, nil, nil
	}
	if len(s) != 4 {
		return nil, nil, c.Errorf("input 0 has rank %d, want 4 (channels-last)", len(s))
	}
	total := graph.Dim{Size: 0}
	for i := range c.Inputs {
		si, err := c.InputShape(i)
		if err != nil {
			return nil, nil, err
		}
		if si == nil || len(si) != 4 || !si[3].Known() || !total.Known() {
			total = unknownDim()
			continue
		}
		total.Size += si[3].Size
	}
	ranges := c.Node.AttrInts("ranges", nil)
	if ranges == nil {
		out := slices.Clone(s)
		out[3] = total
		return graph.OneOutput(graph.Int8, out, true)
	}
	if len(ranges) != 2*len(c.Node.Outputs) {
		return nil, nil, c.Errorf("attribute ranges has %d entries for %d outputs", len(ranges), len(c.Node.Outputs))
	}
	var outs []*graph.Value
	for i := 0; i < len(ranges); i += 2 {
		if ranges[i] < 0 || ranges[i+1] <= ranges[i] || total.Known() && ranges[i+1] > int64(total.Size) {
			return nil, nil, c.Errorf("channel range [%d, %d) is not within the %v channels", ranges[i], ranges[i+1], total)
		}
		out := slices.Clone(s)
		out[3] = graph.Dim{Size: int(ranges[i+1] - ranges[i])}
		outs = append(outs, &graph.Value{DType: graph.Int8, Shape: out, HasShape: true})
	}
	return outs, nil, nil
}
