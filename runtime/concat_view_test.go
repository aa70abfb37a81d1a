package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// viewPlan counts what planConcatViews placed: producers writing into a
// Concat's buffer (convolutions, pools, nested Concats), Concat inputs
// left to copy, and Concats that copy nothing (pure views).
type viewPlan struct{ placed, copied, views int }

func planOf(s *Session) viewPlan {
	var p viewPlan
	for _, st := range s.steps {
		switch k := st.kernel.(type) {
		case *rowsConvKernel:
			if k.view != nil {
				p.placed++
			}
		case *nhwcMaxPoolKernel:
			if k.out != nil {
				p.placed++
			}
		case *nhwcAvgPoolKernel:
			if k.out != nil {
				p.placed++
			}
		}
		if cat, ok := st.kernel.(*nhwcConcatKernel); ok {
			if cat.out != nil && (cat.out.off > 0 || cat.out.g.total != cat.total) {
				p.placed++ // a Concat inside another Concat's buffer
			}
			all := cat.out != nil
			for i := range cat.c {
				if !cat.placed(i) {
					p.copied++
					all = false
				}
			}
			if all {
				p.views++
			}
		}
	}
	return p
}

// TestConcatViews checks the Concat-as-a-view planning (concat_view.go):
// which producers write into the Concat's buffer and which inputs fall back
// to the copy, with outputs equal to the NCHW executor's (1 and 2 threads,
// two runs each: the recycled buffers of the second run are dirty).
func TestConcatViews(t *testing.T) {
	relu := func(b *mb, x string) string { return b.Node("Relu", []string{x}) }
	cat := func(b *mb, xs ...string) string { return b.Node("Concat", xs, graph.IntAttr("axis", 1)) }
	bn := func(b *mb, x string, c int) string {
		v := make([]float32, c)
		for i := range v {
			v[i] = 0.5 + float32(i%5)*0.2
		}
		return b.Node("BatchNormalization", []string{x, b.RandInit("s", []int{c}, 1), b.RandInit("b", []int{c}, 0.5),
			b.RandInit("m", []int{c}, 0.3), b.Init("v", graph.FromFloat32([]int{c}, v))})
	}
	cases := []struct {
		name  string
		x     []int
		build func(b *mb)
		want  viewPlan
	}{
		{name: "fire module: both convolutions in place", x: []int{1, 8, 9, 9}, want: viewPlan{placed: 4, views: 2}, build: func(b *mb) {
			a := relu(b, b.conv("x", 8, 16, 1, 1, 0, 1, true))
			for i := 0; i < 2; i++ {
				sq := relu(b, b.conv(a, 32*min(i, 1)+16*(1-min(i, 1)), 8, 1, 1, 0, 1, true))
				a = cat(b, relu(b, b.conv(sq, 8, 16, 1, 1, 0, 1, true)), relu(b, b.conv(sq, 8, 16, 3, 1, 1, 1, true)))
			}
			b.Output(b.Node("GlobalAveragePool", []string{a}))
		}},
		{name: "an input also read elsewhere is copied", x: []int{1, 8, 7, 7}, want: viewPlan{placed: 1, copied: 1}, build: func(b *mb) {
			a := relu(b, b.conv("x", 8, 16, 1, 1, 0, 1, true))
			c := cat(b, a, relu(b, b.conv("x", 8, 16, 3, 1, 1, 1, true)))
			b.Output(b.Node("Add", []string{b.conv(c, 32, 16, 1, 1, 0, 1, true), b.conv(a, 16, 16, 1, 1, 0, 1, true)}))
		}},
		{name: "graph input and constant are copied", x: []int{2, 8, 6, 6}, want: viewPlan{placed: 1, copied: 2}, build: func(b *mb) {
			a := relu(b, b.conv("x", 8, 16, 3, 1, 1, 1, true))
			k := b.RandInit("k", []int{2, 4, 6, 6}, 1)
			c := cat(b, "x", a, k)
			b.Output(b.Node("GlobalMaxPool", []string{b.conv(c, 28, 16, 1, 1, 0, 1, true)}))
		}},
		{name: "the same tensor twice: one placed, one copied", x: []int{1, 8, 5, 5}, want: viewPlan{placed: 1, copied: 1}, build: func(b *mb) {
			a := relu(b, b.conv("x", 8, 16, 3, 1, 1, 1, true))
			b.Output(b.Node("GlobalMaxPool", []string{b.conv(cat(b, a, a), 32, 16, 1, 1, 0, 1, true)}))
		}},
		{name: "concat of a concat, pools in place (inception)", x: []int{2, 16, 9, 9}, want: viewPlan{placed: 6, views: 2}, build: func(b *mb) {
			a := relu(b, b.conv("x", 16, 16, 1, 1, 0, 1, true))
			inner := cat(b, relu(b, b.conv(a, 16, 32, 1, 1, 0, 1, true)), relu(b, b.conv(a, 16, 20, 3, 1, 1, 1, true)))
			mp := b.Node("MaxPool", []string{a}, graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
			ap := b.Node("AveragePool", []string{a}, graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
			outer := cat(b, relu(b, b.conv("x", 16, 24, 1, 1, 0, 1, true)), inner, mp, ap)
			b.Output(b.Node("GlobalAveragePool", []string{b.conv(outer, 24+52+16+16, 16, 3, 1, 1, 1, true)}))
		}},
		{name: "concat output is a graph output: nothing placed", x: []int{1, 8, 6, 6}, want: viewPlan{copied: 2}, build: func(b *mb) {
			a := relu(b, b.conv("x", 8, 16, 1, 1, 0, 1, true))
			c := cat(b, a, relu(b, b.conv(a, 16, 16, 3, 1, 1, 1, true)))
			b.Output(c)
		}},
		{name: "a buffer over concatViewBytes per image is copied", x: []int{1, 8, 64, 48}, want: viewPlan{copied: 2}, build: func(b *mb) {
			c := cat(b, relu(b, b.conv("x", 8, 32, 1, 1, 0, 1, true)), relu(b, b.conv("x", 8, 32, 3, 1, 1, 1, true)))
			b.Output(b.Node("GlobalMaxPool", []string{b.conv(c, 64, 16, 1, 1, 0, 1, true)}))
		}},
		{name: "height axis: no channels-last concat", x: []int{1, 8, 6, 6}, want: viewPlan{}, build: func(b *mb) {
			a := relu(b, b.conv("x", 8, 16, 1, 1, 0, 1, true))
			c := b.Node("Concat", []string{a, relu(b, b.conv("x", 8, 16, 3, 1, 1, 1, true))}, graph.IntAttr("axis", 2))
			b.Output(b.conv(c, 16, 16, 3, 1, 1, 1, true))
		}},
		// DenseNet: every layer's Concat → BatchNormalization reads the
		// block's one buffer; growth 20 (padded strides: the GEMM must not
		// store the padding columns over the next feature map), batch 2.
		{name: "dense block shares one buffer", x: []int{2, 8, 6, 6}, want: viewPlan{placed: 4}, build: func(b *mb) {
			f := b.Node("MaxPool", []string{b.conv("x", 8, 24, 3, 1, 1, 1, true)}, graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
			feats, c := []string{f}, 24
			for i := 0; i < 3; i++ {
				// torch.cat of one tensor is a Concat of one input.
				feats = append(feats, b.conv(relu(b, bn(b, cat(b, feats...), c)), c, 20, 3, 1, 1, 1, true))
				c += 20
			}
			b.Output(b.conv(relu(b, bn(b, cat(b, feats...), c)), c, 16, 1, 1, 0, 1, true))
		}},
		// The block's widest Concats are over concatViewBytes (32×32 pixels of
		// 160 channels); the narrower ones share a buffer, which the wider
		// ones then read in place.
		{name: "dense block wider than the budget", x: []int{1, 8, 32, 32}, want: viewPlan{placed: 3}, build: func(b *mb) {
			f := b.Node("MaxPool", []string{b.conv("x", 8, 64, 3, 1, 1, 1, true)}, graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
			feats, c := []string{f}, 64
			for i := 0; i < 3; i++ {
				feats = append(feats, b.conv(relu(b, bn(b, cat(b, feats...), c)), c, 32, 3, 1, 1, 1, true))
				c += 32
			}
			b.Output(b.conv(relu(b, bn(b, cat(b, feats...), c)), c, 16, 1, 1, 0, 1, true))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(41)
			b.Input("x", staticDims(tc.x...)...)
			tc.build(b)
			m := b.Model()
			s, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			require.Equal(t, tc.want, planOf(s))
			checkChannelsLastGraph(t, m, tc.x, nil)
		})
	}
}
