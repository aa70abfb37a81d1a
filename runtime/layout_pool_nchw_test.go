package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestPoolChannelsLastToNCHW: Conv → pools whose outputs a Flatten reads
// (adaptive_odd_op12's pattern: adaptive max and average pools to a few
// windows, a mean over the height as a whole-axis AveragePool, and a pool of
// stride 1) read the convolution's channels-last output and write NCHW; the
// convolution stays channels-last. Outputs against the NCHW executor, channel
// counts below, at and off a vector, 1 and 2 threads.
func TestPoolChannelsLastToNCHW(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	type pool struct {
		op              string
		kernel, strides []int
		pads            []int
	}
	for _, tc := range []struct {
		name     string
		ch, h, w int
		pools    []pool
	}{
		{"adaptive_odd", 16, 60, 84, []pool{
			{"MaxPool", []int{20, 28}, []int{20, 28}, nil},
			{"AveragePool", []int{12, 12}, []int{12, 12}, nil},
			{"AveragePool", []int{60, 1}, []int{1, 1}, nil},
		}},
		{"5 channels, stride 1 with pads", 5, 9, 11, []pool{
			{"MaxPool", []int{3, 3}, []int{1, 1}, []int{1, 1, 1, 1}},
			{"AveragePool", []int{2, 3}, []int{2, 2}, []int{0, 1, 1, 0}},
		}},
		{"21 channels, one pool", 21, 12, 10, []pool{{"AveragePool", []int{4, 5}, []int{4, 5}, nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(7)
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 3}, graph.Dim{Size: tc.h}, graph.Dim{Size: tc.w})
			a := b.Node("Conv", []string{"x", b.RandInit("w", []int{tc.ch, 3, 3, 3}, 0.5), b.RandInit("b", []int{tc.ch}, 0.2)},
				graph.IntsAttr("kernel_shape", []int{3, 3}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
			a = b.Node("Relu", []string{a})
			var flat []string
			for _, p := range tc.pools {
				attrs := []*graph.Attr{graph.IntsAttr("kernel_shape", p.kernel), graph.IntsAttr("strides", p.strides)}
				if p.pads != nil {
					attrs = append(attrs, graph.IntsAttr("pads", p.pads))
				}
				flat = append(flat, b.Node("Flatten", []string{b.Node(p.op, []string{a}, attrs...)}))
			}
			out := flat[0]
			if len(flat) > 1 {
				out = b.Node("Concat", flat, graph.IntAttr("axis", 1))
			}
			b.Output(out)
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(5)), []int{1, 3, tc.h, tc.w}, -1, 1)}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			channelsLastMode = true
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				mixed := 0
				for _, st := range s.steps {
					switch k := st.kernel.(type) {
					case *nhwcMaxPoolKernel:
						assert.True(t, k.nchwOut)
						mixed++
					case *nhwcAvgPoolKernel:
						assert.True(t, k.nchwOut)
						mixed++
					case *rowsConvKernel:
						assert.True(t, k.outNHWC, "the convolution writes channels-last")
					}
				}
				require.Equal(t, len(tc.pools), mixed, "every pool reads channels-last")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				require.NoError(t, CompareTensors(got[out], want[out], gemmTol), fmt.Sprintf("%d threads", th))
			}
		})
	}
}
