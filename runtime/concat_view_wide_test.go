package runtime

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// TestConcatViewsWide checks concatViewLimit: a Concat of inputs of at
// least concatViewWideChannels channels is placed up to concatViewWideBytes
// per image (SqueezeNet's 55x55 and 27x27 fire modules), narrower inputs or
// a Concat fused with a BatchNormalization keep concatViewBytes, and outputs
// equal the NCHW executor's at 1 and 2 threads (checkChannelsLastGraph).
func TestConcatViewsWide(t *testing.T) {
	relu := func(b *mb, x string) string { return b.Node("Relu", []string{x}) }
	cat := func(b *mb, xs ...string) string { return b.Node("Concat", xs, graph.IntAttr("axis", 1)) }
	fire := func(c int) func(b *mb) {
		return func(b *mb) {
			sq := relu(b, b.conv("x", 8, 8, 1, 1, 0, 1, true))
			f := cat(b, relu(b, b.conv(sq, 8, c, 1, 1, 0, 1, true)), relu(b, b.conv(sq, 8, c, 3, 1, 1, 1, true)))
			b.Output(b.Node("GlobalMaxPool", []string{b.conv(f, 2*c, 16, 1, 1, 0, 1, true)}))
		}
	}
	cases := []struct {
		name  string
		x     []int
		build func(b *mb)
		want  viewPlan
	}{
		// 40·40·128 floats = 800 KB: over concatViewBytes, within the wide budget.
		{name: "64-channel inputs, 800 KB an image: placed", x: []int{1, 8, 40, 40}, want: viewPlan{placed: 2, views: 1}, build: fire(64)},
		{name: "64-channel inputs, batch 2: placed", x: []int{2, 8, 40, 40}, want: viewPlan{placed: 2, views: 1}, build: fire(64)},
		// 40·40·96 floats = 600 KB with 48-channel inputs: copied.
		{name: "48-channel inputs, 600 KB an image: copied", x: []int{1, 8, 40, 40}, want: viewPlan{copied: 2}, build: fire(48)},
		// 64·64·128 floats = 2 MB + 0: over the wide budget.
		{name: "64-channel inputs over concatViewWideBytes: copied", x: []int{1, 8, 65, 64}, want: viewPlan{copied: 2}, build: fire(64)},
		{name: "within concatViewBytes: placed as before", x: []int{1, 8, 16, 16}, want: viewPlan{placed: 2, views: 1}, build: fire(64)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(43)
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
