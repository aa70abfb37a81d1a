package runtime

// ShuffleNet's unit boundary in the float32 channels-last chains: the
// channels-last Concat of the two branches, the channel shuffle and the two
// channel Slices of the next unit were three passes over the map (four
// steps). fuseShuffleConcatSlices makes them one nhwcShuffleKernel step that
// reads the branches and writes the two halves (channel_shuffle.go).

import (
	"fmt"
	"slices"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// nhwcShuffleKernel concatenates channels-last float32 inputs of cs channels
// (at their pixel strides), shuffles the channels in g groups and writes the
// shuffled channel ranges as channels-last outputs.
type nhwcShuffleKernel struct {
	cs     []int
	g      int
	ranges []int64
	plan   []shuffleOut
}

func newNHWCShuffleKernel(cs []int, g int, ranges []int64) (*nhwcShuffleKernel, error) {
	plan, err := planShuffle(cs, g, ranges)
	if err != nil {
		return nil, err
	}
	return &nhwcShuffleKernel{cs: cs, g: g, ranges: ranges, plan: plan}, nil
}

func (k *nhwcShuffleKernel) Run(ctx *ExecContext, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if len(in) != len(k.cs) {
		return nil, fmt.Errorf("channels-last channel shuffle: got %d inputs, want %d", len(in), len(k.cs))
	}
	if err := checkInputs(in, len(in)); err != nil {
		return nil, err
	}
	xs := make([][]float32, len(in))
	sx := make([]int, len(in))
	c := 0
	for i, x := range in {
		sx[i] = pixelStride(k.cs[i])
		if x.DType != graph.Float32 || len(x.Shape) != 4 || x.Shape[3] != sx[i] || !slices.Equal(x.Shape[:3], in[0].Shape[:3]) {
			return nil, fmt.Errorf("channels-last channel shuffle: input %d is %s %v, want float32 [%d, %d, %d, %d]",
				i, x.DType, x.Shape, in[0].Shape[0], in[0].Shape[1], in[0].Shape[2], sx[i])
		}
		xs[i] = x.F32()
		c += k.cs[i]
	}
	pixels := graph.NumElements(in[0].Shape[:3])
	ys := make([][]float32, len(k.plan))
	outs := make([]*graph.Tensor, len(k.plan))
	for o, po := range k.plan {
		so := pixelStride(po.n)
		ys[o] = ctx.AllocF32(pixels * so)
		outs[o] = &graph.Tensor{DType: graph.Float32, Shape: []int{in[0].Shape[0], in[0].Shape[1], in[0].Shape[2], so}, Data: ys[o]}
	}
	nnParallel(memPassThreads(ctx.Threads, pixels*c), pixels, func(p0, p1 int) {
		for o := range k.plan {
			po := &k.plan[o]
			n, so := po.n, pixelStride(po.n)
			if po.pair {
				// the interleave of two channel runs and the padding after
				// them, 16 pairs at a time
				sa, sb := sx[po.a], sx[po.b]
				kernels.InterleavePairsF32(ys[o][p0*so:], so, so, xs[po.a][p0*sa+po.a0:], sa, xs[po.b][p0*sb+po.b0:], sb, n/2, p1-p0)
				continue
			}
			runShuffle(po, ys[o], so, xs, sx, p0, p1)
			if so > n {
				for p := p0; p < p1; p++ {
					clear(ys[o][p*so+n : (p+1)*so])
				}
			}
		}
	})
	return outs, nil
}

// fuseShuffleConcatSlices merges into each channels-last channel shuffle the
// channels-last Concat that alone feeds it and the channels-last channel
// Slices that alone read it (either or both). It runs at the end of the
// layout pass.
func (s *Session) fuseShuffleConcatSlices() {
	readers, producer := s.stepReaders(), s.stepProducers()
	removed := make([]bool, len(s.steps))
	for j, st := range s.steps {
		sk, ok := st.kernel.(*channelShuffleKernel)
		if !ok || !sk.nhwc || len(st.in) != 1 || st.in[0] < 0 || len(st.out) != 1 || st.out[0] < 0 {
			continue
		}
		ins, cs := []int{st.in[0]}, []int{sk.c}
		catStep := -1
		if i, ok := producer[st.in[0]]; ok && !s.keep[st.in[0]] && len(readers[st.in[0]]) == 1 {
			if cat, ok := s.steps[i].kernel.(*nhwcConcatKernel); ok && cat.outNHWC && !slices.Contains(cat.inNHWC, false) && cat.total == sk.c {
				ins, cs, catStep = s.steps[i].in, cat.c, i
			}
		}
		out := st.out[0]
		outs, ranges := []int{out}, []int64{0, int64(sk.c)}
		var sliceSteps []int
		if rs := readers[out]; !s.keep[out] && len(rs) > 0 {
			var fo []int
			var fr []int64
			for _, r := range rs {
				sl, ok := s.steps[r].kernel.(*nhwcSliceKernel)
				if !ok || s.steps[r].in[0] != out || len(s.steps[r].out) != 1 || sl.c != sk.c || slices.Contains(sliceSteps, r) {
					fo = nil
					break
				}
				fo = append(fo, s.steps[r].out[0])
				fr = append(fr, int64(sl.c0), int64(sl.c0+sl.cn))
				sliceSteps = append(sliceSteps, r)
			}
			if fo != nil {
				outs, ranges = fo, fr
			} else {
				sliceSteps = nil
			}
		}
		if catStep < 0 && sliceSteps == nil {
			continue
		}
		k, err := newNHWCShuffleKernel(slices.Clone(cs), sk.g, ranges)
		if err != nil {
			continue
		}
		s.steps[j].kernel, s.steps[j].in, s.steps[j].out = k, slices.Clone(ins), outs
		if catStep >= 0 {
			removed[catStep] = true
		}
		for _, r := range sliceSteps {
			removed[r] = true
		}
	}
	kept := s.steps[:0]
	for i, st := range s.steps {
		if !removed[i] {
			kept = append(kept, st)
		}
	}
	s.steps = kept
}
