package runtime

import (
	"testing"

	"github.com/warboy-sim/warboy/graph"
)

// TestChannelsLastConcat runs Concat-heavy graphs with the channels-last pass
// off and on (checkChannelsLastGraph): a SqueezeNet fire module, an inception
// block with a MaxPool branch, DenseNet's growing concatenations with channel
// counts that are not multiples of 16 (padded pixel strides), a Concat whose
// output is also a graph output (NCHW out from channels-last inputs), and one
// with an input from an operator outside the pass (an NCHW input); and the
// BatchNormalization and elementwise steps around them (layout_elementwise.go).
func TestChannelsLastConcat(t *testing.T) {
	relu := func(b *mb, x string) string { return b.Node("Relu", []string{x}) }
	cat := func(b *mb, xs ...string) string { return b.Node("Concat", xs, graph.IntAttr("axis", 1)) }
	const nhwcCat, rows, catBN, shuf = "*runtime.nhwcConcatKernel", "*runtime.rowsConvKernel", "*runtime.nhwcConcatBNKernel", "*runtime.nhwcShuffleKernel"
	cases := []struct {
		name  string
		x     []int
		build func(b *mb)
		count map[string]int
	}{
		{name: "fire modules", x: []int{1, 3, 19, 19}, count: map[string]int{nhwcCat: 2, rows: 7}, build: func(b *mb) {
			a := relu(b, b.conv("x", 3, 32, 3, 2, 0, 1, true))
			for i := 0; i < 2; i++ {
				sq := relu(b, b.conv(a, 32, 8, 1, 1, 0, 1, true))
				a = cat(b, relu(b, b.conv(sq, 8, 16, 1, 1, 0, 1, true)), relu(b, b.conv(sq, 8, 16, 3, 1, 1, 1, true)))
			}
			b.Output(b.Node("GlobalAveragePool", []string{a}))
		}},
		{name: "inception block, concat also a graph output", x: []int{1, 24, 9, 9}, count: map[string]int{nhwcCat: 1, rows: 4}, build: func(b *mb) {
			a := relu(b, b.conv("x", 24, 32, 1, 1, 0, 1, true))
			p := b.Node("MaxPool", []string{a}, graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
			c := cat(b, relu(b, b.conv(a, 32, 24, 1, 1, 0, 1, true)), relu(b, b.conv(a, 32, 40, 3, 1, 1, 1, true)), relu(b, b.conv(p, 32, 8, 1, 1, 0, 1, true)))
			b.Output(c)
			b.Output(b.conv(c, 72, 16, 1, 1, 0, 1, true))
		}},
		{name: "dense block", x: []int{2, 8, 8, 8}, count: map[string]int{nhwcCat: 3, rows: 4}, build: func(b *mb) {
			f := relu(b, b.conv("x", 8, 20, 3, 1, 1, 1, true))
			feats, c := []string{f}, 20
			for i := 0; i < 3; i++ {
				in := f
				if len(feats) > 1 {
					in = cat(b, feats...)
				}
				feats = append(feats, relu(b, b.conv(in, c, 12, 3, 1, 1, 1, true)))
				c += 12
			}
			b.Output(b.Node("GlobalMaxPool", []string{cat(b, feats...)}))
		}},
		// DenseNet: Concat → BatchNormalization → Relu → Conv layers, a
		// transition (AveragePool, outside the pass), and a LeakyRelu after a
		// MaxPool (not fused into a convolution) in the chain.
		// Each Concat → BatchNormalization → Relu is one nhwcConcatBNKernel.
		{name: "pre-activation dense block", x: []int{1, 8, 8, 8}, count: map[string]int{nhwcCat: 0, catBN: 3, rows: 7, "*runtime.nhwcBatchNormKernel": 1, "runtime.KernelFunc": 1 /* LeakyRelu: every Relu folded */}, build: func(b *mb) {
			bn := func(x string, c int) string {
				v := make([]float32, c)
				for i := range v {
					v[i] = 0.5 + float32(i%7)*0.1
				}
				return b.Node("BatchNormalization", []string{x, b.RandInit("s", []int{c}, 1), b.RandInit("b", []int{c}, 0.5),
					b.RandInit("m", []int{c}, 0.3), b.Init("v", graph.FromFloat32([]int{c}, v))})
			}
			f := b.conv("x", 8, 24, 3, 1, 1, 1, true)
			feats, c := []string{f}, 24
			for i := 0; i < 3; i++ {
				in := f
				if len(feats) > 1 {
					in = cat(b, feats...)
				}
				feats = append(feats, b.conv(relu(b, bn(in, c)), c, 8, 3, 1, 1, 1, true))
				c += 8
			}
			t := b.conv(relu(b, bn(cat(b, feats...), c)), c, 16, 1, 1, 0, 1, false)
			t = b.Node("AveragePool", []string{t}, graph.IntsAttr("kernel_shape", []int{2, 2}), graph.IntsAttr("strides", []int{2, 2}))
			s := b.Node("MaxPool", []string{b.conv(t, 16, 16, 1, 1, 0, 1, true)}, graph.IntsAttr("kernel_shape", []int{1, 1}))
			s = b.Node("LeakyRelu", []string{s}, graph.FloatAttr("alpha", 0.1))
			b.Output(b.Node("GlobalAveragePool", []string{b.conv(s, 16, 16, 1, 1, 0, 1, true)}))
		}},
		// DenseNet's transition (a zero Pad, then AveragePool) and average
		// pools with padding, count_include_pad and ceil mode (layout_pool.go).
		{name: "average pools", x: []int{1, 8, 13, 13}, count: map[string]int{"*runtime.nhwcAvgPoolKernel": 3, "runtime.tensorCopyKernel": 0 /* graph/optimize drops the zero Pad */, rows: 4}, build: func(b *mb) {
			t := b.conv("x", 8, 24, 3, 1, 1, 1, true)
			t = b.Node("Pad", []string{t, b.Init("pads", graph.FromInt64([]int{8}, make([]int64, 8)))})
			t = b.Node("AveragePool", []string{t}, graph.IntsAttr("kernel_shape", []int{2, 2}), graph.IntsAttr("strides", []int{2, 2}))
			t = b.conv(t, 24, 16, 1, 1, 0, 1, true)
			t = b.Node("AveragePool", []string{t}, graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("strides", []int{2, 2}),
				graph.IntsAttr("pads", []int{1, 1, 1, 1}), graph.IntAttr("count_include_pad", 1), graph.IntAttr("ceil_mode", 1))
			t = b.conv(t, 16, 16, 1, 1, 0, 1, true)
			t = b.Node("AveragePool", []string{t}, graph.IntsAttr("kernel_shape", []int{3, 2}), graph.IntsAttr("pads", []int{1, 0, 1, 1}))
			b.Output(b.conv(t, 16, 8, 1, 1, 0, 1, true))
		}},
		// ShuffleNet units: channel shuffle (Reshape, Transpose, Reshape)
		// and the channel split (two Slices) between channels-last steps
		// (layout_shuffle.go); 20 channels a branch (padded pixel stride).
		// The Concat, shuffle and Slices of a unit boundary are one
		// nhwcShuffleKernel (layout_shuffle_fuse.go).
		{name: "shufflenet units", x: []int{1, 8, 10, 10}, count: map[string]int{"*runtime.channelShuffleKernel": 0, "*runtime.nhwcSliceKernel": 0, rows: 4, nhwcCat: 0, shuf: 2}, build: func(b *mb) {
			shuffle := func(x string, c int) string {
				r := b.Node("Reshape", []string{x, b.Init("shape", graph.FromInt64([]int{5}, []int64{1, 2, int64(c / 2), 10, 10}))})
				r = b.Node("Transpose", []string{r}, graph.IntsAttr("perm", []int{0, 2, 1, 3, 4}))
				return b.Node("Reshape", []string{r, b.Init("shape", graph.FromInt64([]int{4}, []int64{1, -1, 10, 10}))})
			}
			slice := func(x string, lo, hi int64) string {
				return b.Node("Slice", []string{x, b.Init("starts", graph.FromInt64([]int{1}, []int64{lo})),
					b.Init("ends", graph.FromInt64([]int{1}, []int64{hi})), b.Init("axes", graph.FromInt64([]int{1}, []int64{1}))})
			}
			a := relu(b, b.conv("x", 8, 20, 3, 1, 1, 1, true))
			c := shuffle(cat(b, a, relu(b, b.conv("x", 8, 20, 1, 1, 0, 1, true))), 40)
			c = shuffle(cat(b, slice(c, 0, 20), relu(b, b.conv(slice(c, 20, 1<<40), 20, 20, 1, 1, 0, 1, true))), 40)
			b.Output(b.Node("GlobalAveragePool", []string{b.conv(c, 40, 16, 1, 1, 0, 1, true)}))
		}},
		// Concat → BatchNormalization with growth 12 (padded pixel strides,
		// channels outside the 16-lane blocks), an NCHW input (from outside
		// the pass) and no Relu; batch 2.
		{name: "concat into batchnorm, odd widths, NCHW input", x: []int{2, 8, 7, 7}, count: map[string]int{nhwcCat: 0, catBN: 2}, build: func(b *mb) {
			bn := func(x string, c int) string {
				v := make([]float32, c)
				for i := range v {
					v[i] = 0.5 + float32(i%5)*0.2
				}
				return b.Node("BatchNormalization", []string{x, b.RandInit("s", []int{c}, 1), b.RandInit("b", []int{c}, 0.5),
					b.RandInit("m", []int{c}, 0.3), b.Init("v", graph.FromFloat32([]int{c}, v))})
			}
			f := relu(b, b.conv("x", 8, 12, 3, 1, 1, 1, true))
			g := b.conv(relu(b, bn(cat(b, f, b.Node("Sigmoid", []string{"x"})), 20)), 20, 12, 3, 1, 1, 1, true)
			h := b.conv(bn(cat(b, f, g, relu(b, b.conv(g, 12, 36, 1, 1, 0, 1, true))), 60), 60, 8, 1, 1, 0, 1, true)
			b.Output(h)
		}},
		// Batch 2; a shuffle in four groups (a general permutation) that
		// reads a Concat; Slices that do not split the map in halves.
		{name: "shuffles in groups, batch 2", x: []int{2, 8, 6, 6}, count: map[string]int{"*runtime.channelShuffleKernel": 0, "*runtime.nhwcSliceKernel": 0, nhwcCat: 0, shuf: 2}, build: func(b *mb) {
			shuffle := func(x string, c, g int) string {
				r := b.Node("Reshape", []string{x, b.Init("shape", graph.FromInt64([]int{5}, []int64{2, int64(g), int64(c / g), 6, 6}))})
				r = b.Node("Transpose", []string{r}, graph.IntsAttr("perm", []int{0, 2, 1, 3, 4}))
				return b.Node("Reshape", []string{r, b.Init("shape", graph.FromInt64([]int{4}, []int64{2, -1, 6, 6}))})
			}
			slice := func(x string, lo, hi int64) string {
				return b.Node("Slice", []string{x, b.Init("starts", graph.FromInt64([]int{1}, []int64{lo})),
					b.Init("ends", graph.FromInt64([]int{1}, []int64{hi})), b.Init("axes", graph.FromInt64([]int{1}, []int64{1}))})
			}
			a := relu(b, b.conv("x", 8, 20, 3, 1, 1, 1, true))
			c := shuffle(cat(b, a, relu(b, b.conv("x", 8, 12, 1, 1, 0, 1, true))), 32, 4)
			c = shuffle(cat(b, slice(c, 3, 13), relu(b, b.conv(slice(c, 13, 32), 19, 22, 1, 1, 0, 1, true))), 32, 2)
			b.Output(b.Node("GlobalAveragePool", []string{b.conv(c, 32, 16, 1, 1, 0, 1, true)}))
		}},
		{name: "input from outside the pass", x: []int{1, 16, 6, 6}, count: map[string]int{nhwcCat: 1, rows: 2}, build: func(b *mb) {
			a := relu(b, b.conv("x", 16, 16, 1, 1, 0, 1, true))
			c := cat(b, a, b.Node("Sigmoid", []string{"x"}), a)
			b.Output(b.conv(c, 48, 16, 3, 1, 1, 1, true))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(31)
			b.Input("x", staticDims(tc.x...)...)
			tc.build(b)
			checkChannelsLastGraph(t, b.Model(), tc.x, tc.count)
		})
	}
}
