package runtime

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// shuffleNetModel is two ShuffleNetV2 units as torch.onnx writes them (the
// channel shuffle as Reshape → Transpose → Reshape, the split as two
// Slices) on a symbolic batch: a stride-2 unit of two branches, a stride-1
// unit that splits, then a shuffle in groups (a general permutation) read by
// a convolution. c channels per branch (not a multiple of 16).
func shuffleNetModel(c, groups int) *graph.Model {
	b := newMB(41)
	x := b.Input("x", batchDim(), graph.Dim{Size: 8}, graph.Dim{Size: 12}, graph.Dim{Size: 12})
	relu := func(x string) string { return b.Node("Relu", []string{x}) }
	cat := func(xs ...string) string { return b.Node("Concat", xs, graph.IntAttr("axis", 1)) }
	shuffle := func(x string, ch, g, hw int) string {
		r := b.Node("Reshape", []string{x, b.Init("shape", graph.FromInt64([]int{5}, []int64{0, int64(g), int64(ch / g), int64(hw), int64(hw)}))})
		r = b.Node("Transpose", []string{r}, graph.IntsAttr("perm", []int{0, 2, 1, 3, 4}))
		return b.Node("Reshape", []string{r, b.Init("shape", graph.FromInt64([]int{4}, []int64{0, int64(ch), int64(hw), int64(hw)}))})
	}
	slice := func(x string, lo, hi int64) string {
		return b.Node("Slice", []string{x, b.Init("starts", graph.FromInt64([]int{1}, []int64{lo})),
			b.Init("ends", graph.FromInt64([]int{1}, []int64{hi})), b.Init("axes", graph.FromInt64([]int{1}, []int64{1}))})
	}
	// stride 2: depthwise + 1x1 on one branch, 1x1 + depthwise + 1x1 on the other
	b1 := relu(b.conv(b.conv(x, 8, 8, 3, 2, 1, 8, true), 8, c, 1, 1, 0, 1, true))
	b2 := relu(b.conv(relu(b.conv(x, 8, c, 1, 1, 0, 1, true)), c, c, 3, 2, 1, c, true))
	b2 = relu(b.conv(b2, c, c, 1, 1, 0, 1, true))
	u := shuffle(cat(b1, b2), 2*c, 2, 6)
	// stride 1: the first half passes, the second goes through the branch
	br := relu(b.conv(b.conv(relu(b.conv(slice(u, int64(c), 1<<40), c, c, 1, 1, 0, 1, true)), c, c, 3, 1, 1, c, true), c, c, 1, 1, 0, 1, true))
	u = shuffle(cat(slice(u, 0, int64(c)), br), 2*c, 2, 6)
	u = shuffle(u, 2*c, groups, 6)
	b.Output(b.Node("GlobalAveragePool", []string{relu(b.conv(u, 2*c, 16, 1, 1, 0, 1, true))}))
	return b.Model()
}

// TestInt8ChannelShuffleChannelsLast lowers ShuffleNet units to int8: no
// layout changes, the Concat → shuffle → Slices of a unit one ChannelShuffle
// step, and the result as the simulated quantization of the float executor,
// at batch 1 and 2 and 1 and 2 threads (the thread counts bit for bit).
func TestInt8ChannelShuffleChannelsLast(t *testing.T) {
	for _, tc := range []struct {
		c, groups int
	}{
		{c: 20, groups: 4},
		{c: 24, groups: 3},
		{c: 29, groups: 2},
	} {
		t.Run(fmt.Sprintf("%d channels, last shuffle in %d groups", tc.c, tc.groups), func(t *testing.T) {
			fm := shuffleNetModel(tc.c, tc.groups)
			rng := rand.New(rand.NewSource(3))
			qm := qdqify(t, fm, map[string]*graph.Tensor{"x": randInput(rng, []int{4, 8, 12, 12}, -1, 1)}, qdqOptions{})
			var warns []string
			s1, err := NewSession(qm, WithMode(ModeInt8), WithThreads(1), WithWarnings(func(w string) { warns = append(warns, w) }))
			require.NoError(t, err)
			assert.Empty(t, warns)
			count := map[string]int{}
			var ranged int
			for _, n := range s1.Model().Graph.Nodes {
				count[n.OpType]++
				if n.OpType == "ChannelShuffle" && n.HasAttr("ranges") {
					ranged++
					assert.Len(t, n.Inputs, 2, "%s: the Concat is folded in", n.Label())
					assert.Len(t, n.Outputs, 2, "%s: the two Slices are folded in", n.Label())
				}
			}
			assert.Zero(t, count["Relayout"], "no layout change: %v", count)
			assert.Zero(t, count["Slice"], "%v", count)
			assert.Zero(t, count["Transpose"], "%v", count)
			assert.Equal(t, 3, count["ChannelShuffle"], "%v", count)
			assert.Equal(t, 1, ranged, "%v", count)
			s2, err := NewSession(qm, WithMode(ModeInt8), WithThreads(2))
			require.NoError(t, err)
			ref, err := NewSession(qm, WithMode(ModeFloat))
			require.NoError(t, err)
			out := fm.Graph.Outputs[0].Name
			step := float64(stepOf(t, qm, out))
			for _, batch := range []int{1, 2} {
				in := map[string]*graph.Tensor{"x": randInput(rng, []int{batch, 8, 12, 12}, -1, 1)}
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				got, err := s1.RunTensors(in)
				require.NoError(t, err)
				got2, err := s2.RunTensors(in)
				require.NoError(t, err)
				assert.Equal(t, got[out].Data, got2[out].Data, "batch %d: 1 and 2 threads", batch)
				frac, mx := outputSteps(t, got[out], want[out], step)
				t.Logf("batch %d: within 1 step %.4f, max %.2f steps", batch, frac, mx)
				assert.GreaterOrEqual(t, frac, 0.99)
				assert.LessOrEqual(t, mx, 3.0)
			}
		})
	}
}

// TestChannelShuffleI8Kernel checks the kernel against concatenation,
// shuffle and slicing written out: inputs of unequal channel counts, group
// counts 1-4, ranges that do and do not split evenly into pairs, 1 and 2
// threads.
func TestChannelShuffleI8Kernel(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, tc := range []struct {
		name   string
		cs     []int
		g      int
		ranges []int64
	}{
		{name: "one input, two groups", cs: []int{40}, g: 2},
		{name: "two halves split in two", cs: []int{29, 29}, g: 2, ranges: []int64{0, 29, 29, 58}},
		{name: "two halves split evenly", cs: []int{58, 58}, g: 2, ranges: []int64{0, 58, 58, 116}},
		{name: "halves across inputs", cs: []int{10, 30}, g: 2, ranges: []int64{0, 20, 20, 40}},
		{name: "odd ranges", cs: []int{12, 12}, g: 2, ranges: []int64{3, 17, 1, 2}},
		{name: "three inputs, three groups", cs: []int{5, 7, 12}, g: 3, ranges: []int64{0, 24}},
		{name: "four groups, overlapping ranges", cs: []int{16, 16}, g: 4, ranges: []int64{0, 20, 8, 32}},
		{name: "one group", cs: []int{3, 5}, g: 1, ranges: []int64{2, 8}},
	} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s, %d threads", tc.name, threads), func(t *testing.T) {
				n, h, w := 2, 5, 67
				var in []*graph.Tensor
				c := 0
				for _, ci := range tc.cs {
					d := make([]int8, n*h*w*ci)
					for i := range d {
						d[i] = int8(rng.Intn(256) - 128)
					}
					in = append(in, graph.FromInt8([]int{n, h, w, ci}, d))
					c += ci
				}
				k := &channelShuffleI8Kernel{g: tc.g, ranges: tc.ranges}
				ctx := &ExecContext{Threads: threads}
				outs, err := k.Run(ctx, in)
				require.NoError(t, err)
				ranges := tc.ranges
				if ranges == nil {
					ranges = []int64{0, int64(c)}
				}
				require.Len(t, outs, len(ranges)/2)
				for p := 0; p < n*h*w; p++ {
					var cat []int8
					for i, x := range in {
						cat = append(cat, x.Data.([]int8)[p*tc.cs[i]:(p+1)*tc.cs[i]]...)
					}
					sh := make([]int8, c)
					cpg := c / tc.g
					for i := 0; i < tc.g; i++ {
						for j := 0; j < cpg; j++ {
							sh[j*tc.g+i] = cat[i*cpg+j]
						}
					}
					for o, y := range outs {
						lo, hi := int(ranges[2*o]), int(ranges[2*o+1])
						require.Equal(t, []int{n, h, w, hi - lo}, y.Shape)
						got := y.Data.([]int8)[p*(hi-lo) : (p+1)*(hi-lo)]
						if !slices.Equal(sh[lo:hi], got) {
							require.Equal(t, sh[lo:hi], got, "pixel %d, output %d", p, o)
						}
					}
				}
			})
		}
	}
	t.Run("errors", func(t *testing.T) {
		ctx := &ExecContext{Threads: 1}
		_, err := (&channelShuffleI8Kernel{g: 3}).Run(ctx, []*graph.Tensor{graph.FromInt8([]int{1, 1, 1, 4}, make([]int8, 4))})
		assert.ErrorContains(t, err, "do not split into 3 groups")
		_, err = (&channelShuffleI8Kernel{g: 2, ranges: []int64{0, 6}}).Run(ctx, []*graph.Tensor{graph.FromInt8([]int{1, 1, 1, 4}, make([]int8, 4))})
		assert.ErrorContains(t, err, "not within the 4 channels")
		_, err = (&channelShuffleI8Kernel{g: 2}).Run(ctx, []*graph.Tensor{graph.FromInt8([]int{1, 1, 4}, make([]int8, 4))})
		assert.ErrorContains(t, err, "want channels-last")
	})
}
