package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestMaxPoolRowsMatchesNCHW runs Conv -> MaxPool -> Conv chains (the pool
// channels-last between two channels-last convolutions) against the NCHW
// executor: the ResNet stem pool, stride 1, dilation, asymmetric pads, ceil
// mode with a clipped last window, channel counts below and above a vector
// and not a multiple of 16, a NaN in the input, 1 and 2 threads.
func TestMaxPoolRowsMatchesNCHW(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for _, c := range []struct {
		name            string
		ch, h, w        int
		kernel, strides []int
		pads, dil       []int
		ceil            int
		nan             bool
	}{
		{"resnet stem 3x3 s2 p1", 24, 16, 14, []int{3, 3}, []int{2, 2}, []int{1, 1, 1, 1}, []int{1, 1}, 0, false},
		{"3x3 s1 p1, 40 channels", 40, 9, 8, []int{3, 3}, []int{1, 1}, []int{1, 1, 1, 1}, []int{1, 1}, 0, false},
		{"2x3 dilation 2, asymmetric pads", 8, 11, 12, []int{2, 3}, []int{1, 2}, []int{1, 0, 0, 2}, []int{2, 2}, 0, false},
		{"ceil mode, clipped last window", 17, 10, 9, []int{3, 3}, []int{2, 2}, []int{0, 0, 0, 0}, []int{1, 1}, 1, false},
		{"NaN propagates", 16, 8, 8, []int{3, 3}, []int{2, 2}, []int{1, 1, 1, 1}, []int{1, 1}, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newMB(5)
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 3}, graph.Dim{Size: c.h}, graph.Dim{Size: c.w})
			a := b.Node("Conv", []string{"x", b.RandInit("w", []int{c.ch, 3, 1, 1}, 0.5), b.RandInit("b", []int{c.ch}, 0.2)},
				graph.IntsAttr("kernel_shape", []int{1, 1}))
			p := b.Node("MaxPool", []string{a}, graph.IntsAttr("kernel_shape", c.kernel), graph.IntsAttr("strides", c.strides),
				graph.IntsAttr("pads", c.pads), graph.IntsAttr("dilations", c.dil), graph.IntAttr("ceil_mode", int64(c.ceil)))
			b.Output(b.Node("Conv", []string{p, b.RandInit("w2", []int{8, c.ch, 1, 1}, 0.5)}, graph.IntsAttr("kernel_shape", []int{1, 1})))
			m := b.Model()
			x := randInput(rand.New(rand.NewSource(3)), []int{1, 3, c.h, c.w}, -1, 1)
			if c.nan {
				x.F32()[c.w+3] = float32(math.NaN())
			}
			in := map[string]*graph.Tensor{"x": x}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			channelsLastMode = true
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				pooled := false
				for _, st := range s.steps {
					_, ok := st.kernel.(*nhwcMaxPoolKernel)
					pooled = pooled || ok
				}
				require.True(t, pooled, "the MaxPool runs channels-last")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for name, w := range want {
					g := got[name]
					if c.nan {
						// Same NaN pattern; the other values as close as the GEMMs.
						for i, v := range w.F32() {
							require.Equal(t, math.IsNaN(float64(v)), math.IsNaN(float64(g.F32()[i])), "element %d", i)
						}
						continue
					}
					require.NoError(t, CompareTensors(g, w, gemmTol), fmt.Sprintf("%s, %d threads", name, th))
				}
			}
		})
	}
}
