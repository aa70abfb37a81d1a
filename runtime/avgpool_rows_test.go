package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// TestAvgPoolRowsMatchesNCHW checks the channels-last average pools
// (pool_rows.go) against the NCHW executor: count_include_pad with padding,
// no padding, stride 2 (DenseNet's transition), dilation, channel counts off
// the 16-lane blocks and above 64, and the pools whose border windows divide
// by their own count (padding without count_include_pad, ceil mode past the
// padding).
func TestAvgPoolRowsMatchesNCHW(t *testing.T) {
	cases := []struct {
		name  string
		c     int
		attrs []*graph.Attr
	}{
		{"3x3 s1 pad 1 count_include_pad (inception)", 48, []*graph.Attr{graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1}), graph.IntAttr("count_include_pad", 1)}},
		{"2x2 s2 (densenet transition), 20 channels", 20, []*graph.Attr{graph.IntsAttr("kernel_shape", []int{2, 2}), graph.IntsAttr("strides", []int{2, 2})}},
		{"3x2 dilated, asymmetric pads counted", 37, []*graph.Attr{graph.IntsAttr("kernel_shape", []int{3, 2}), graph.IntsAttr("dilations", []int{2, 1}), graph.IntsAttr("pads", []int{2, 0, 1, 1}), graph.IntAttr("count_include_pad", 1)}},
		{"pads not counted", 32, []*graph.Attr{graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1})}},
		{"paddle_op10: 3x3 s2 pads not counted, ceil mode", 32, []*graph.Attr{graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("strides", []int{2, 2}), graph.IntsAttr("pads", []int{1, 1, 1, 1}), graph.IntAttr("ceil_mode", 1)}},
		{"5x3 asymmetric pads not counted, stride 2x1", 24, []*graph.Attr{graph.IntsAttr("kernel_shape", []int{5, 3}), graph.IntsAttr("strides", []int{2, 1}), graph.IntsAttr("pads", []int{2, 0, 1, 2})}},
		{"ceil mode past the padding", 16, []*graph.Attr{graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("strides", []int{2, 2}), graph.IntAttr("ceil_mode", 1), graph.IntAttr("count_include_pad", 1)}},
		{"3x3 s1 pad 1, 120 channels (64 + 32 + 16 + 8)", 120, []*graph.Attr{graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1})}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := []int{2, 8, 10, 11}
			b := newMB(43)
			b.Input("x", staticDims(x...)...)
			a := b.Node("Relu", []string{b.conv("x", 8, tc.c, 3, 1, 1, 1, true)})
			p := b.Node("AveragePool", []string{a}, tc.attrs...)
			b.Output(b.Node("GlobalAveragePool", []string{b.conv(p, tc.c, 16, 1, 1, 0, 1, true)}))
			m := b.Model()
			s, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			var k *nhwcAvgPoolKernel
			for _, st := range s.steps {
				if ak, ok := st.kernel.(*nhwcAvgPoolKernel); ok {
					k = ak
				}
			}
			require.NotNil(t, k, "the pool runs channels-last")
			checkChannelsLastGraph(t, m, x, nil)
		})
	}
}
