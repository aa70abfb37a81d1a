package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestConvTransposeClampFusion runs decoder blocks whose ConvTranspose (the
// BatchNormalization after it folded away) feeds a Relu or Clip, with the
// fusion on and off: the block kernel (2x2, stride 2) and the phase kernel
// (3x3 stride 2 with output_padding, a 4x4 depthwise one, a 2x2 stride-3 one
// whose phases without taps are the bias, a ConvTranspose of the NCHW graph input), a Relu then a Clip composed into one clamp, and the
// cases that stay apart: a clamp whose range leaves out 0, a ConvTranspose
// output read twice or kept as a graph output. The fused steps' outputs are the
// steps apart bit for bit, at 1 and 2 threads, batch 1 and 2.
func TestConvTransposeClampFusion(t *testing.T) {
	clip := func(b *mb, x string, lo, hi float32) string {
		return b.Node("Clip", []string{x, b.Init("lo", graph.ScalarFloat32(lo)), b.Init("hi", graph.ScalarFloat32(hi))})
	}
	block := func(b *mb, x string, c, m int) string { // UNet's up-convolution
		return b.Node("ConvTranspose", []string{x, b.RandInit("wt", []int{c, m, 2, 2}, 0.3), b.RandInit("bt", []int{m}, 0.2)},
			graph.IntsAttr("strides", []int{2, 2}))
	}
	phase := func(b *mb, x string, c, m int) string { // ENet's and torch's 3x3 stride-2 with output_padding
		return b.Node("ConvTranspose", []string{x, b.RandInit("wt", []int{c, m, 3, 3}, 0.3), b.RandInit("bt", []int{m}, 0.2)},
			graph.IntsAttr("strides", []int{2, 2}), graph.IntsAttr("pads", []int{1, 1, 1, 1}), graph.IntsAttr("output_padding", []int{1, 1}))
	}
	cases := []struct {
		name   string
		c      int
		fused  int // clamp steps merged into a ConvTranspose
		clamps int // Relu/Clip steps left
		build  func(b *mb) []string
	}{
		{name: "block, Relu", c: 8, fused: 1, build: func(b *mb) []string {
			y := b.Node("Relu", []string{block(b, b.conv("x", 8, 16, 3, 1, 1, 1, true), 16, 12)})
			return []string{b.conv(y, 12, 8, 3, 1, 1, 1, true)}
		}},
		{name: "phase, Relu then Clip(0, 6)", c: 8, fused: 2, build: func(b *mb) []string {
			y := clip(b, b.Node("Relu", []string{phase(b, b.conv("x", 8, 16, 3, 1, 1, 1, true), 16, 24)}), 0, 6)
			return []string{b.conv(y, 24, 8, 1, 1, 0, 1, true)}
		}},
		{name: "phase depthwise 4x4, Clip(-1, 1)", c: 8, fused: 1, build: func(b *mb) []string {
			y := b.Node("ConvTranspose", []string{b.conv("x", 8, 16, 3, 1, 1, 1, true), b.RandInit("wt", []int{16, 1, 4, 4}, 0.3)},
				graph.IntAttr("group", 16), graph.IntsAttr("strides", []int{2, 2}), graph.IntsAttr("pads", []int{1, 1, 1, 1}))
			return []string{b.conv(clip(b, y, -1, 1), 16, 8, 1, 1, 0, 1, true)}
		}},
		{name: "phase 2x2 stride 3 (phases no tap reaches: the bias), Relu", c: 8, fused: 1, build: func(b *mb) []string {
			y := b.Node("ConvTranspose", []string{b.conv("x", 8, 16, 3, 1, 1, 1, true), b.RandInit("wt", []int{16, 8, 2, 2}, 0.3),
				b.RandInit("bt", []int{8}, 0.5)}, graph.IntsAttr("strides", []int{3, 3}))
			return []string{b.conv(b.Node("Relu", []string{y}), 8, 8, 1, 1, 0, 1, true)}
		}},
		{name: "phase on the NCHW graph input, Relu as the output", c: 5, fused: 1, build: func(b *mb) []string {
			return []string{b.Node("Relu", []string{phase(b, "x", 5, 7)})}
		}},
		{name: "Clip(0.5, 2) leaves out 0: apart", c: 8, clamps: 1, build: func(b *mb) []string {
			y := clip(b, block(b, b.conv("x", 8, 16, 3, 1, 1, 1, true), 16, 12), 0.5, 2)
			return []string{b.conv(y, 12, 8, 3, 1, 1, 1, true)}
		}},
		{name: "output read twice: apart", c: 8, clamps: 1, build: func(b *mb) []string {
			d := phase(b, b.conv("x", 8, 16, 3, 1, 1, 1, true), 16, 8)
			return []string{b.Node("Add", []string{d, b.Node("Relu", []string{d})})}
		}},
		{name: "ConvTranspose output kept as a graph output: apart", c: 8, clamps: 1, build: func(b *mb) []string {
			d := block(b, b.conv("x", 8, 16, 3, 1, 1, 1, true), 16, 8)
			return []string{d, b.Node("Relu", []string{d})}
		}},
	}
	for _, tc := range cases {
		for _, n := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/batch %d", tc.name, n), func(t *testing.T) {
				b := newMB(31)
				b.Input("x", graph.Dim{Size: n}, graph.Dim{Size: tc.c}, graph.Dim{Size: 7}, graph.Dim{Size: 9})
				b.Output(tc.build(b)...)
				m := b.Model()
				in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(5)), []int{n, tc.c, 7, 9}, -2, 2)}
				for _, th := range []int{1, 2} {
					apart, err := NewSession(m, WithMode(ModeFloat), WithThreads(th), withoutFusions(fuseCTClamp))
					require.NoError(t, err)
					want, err := apart.RunTensors(in)
					require.NoError(t, err)
					s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
					require.NoError(t, err)
					fused := len(apart.steps) - len(s.steps)
					clamps := 0
					for _, st := range s.steps {
						if isOp(st.node, "Relu") || isOp(st.node, "Clip") {
							clamps++
						}
						switch k := st.kernel.(type) {
						case *nhwcConvTransposeKernel:
							require.Equal(t, fused > 0, k.clamp.on)
						case *phaseConvTranspose:
							require.Equal(t, fused > 0, k.clamp.on)
						}
					}
					require.Equal(t, tc.fused, fused, "clamp steps merged")
					require.Equal(t, tc.clamps, clamps, "clamp steps left")
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range s.Outputs() {
						require.Equal(t, want[o.Name].Shape, got[o.Name].Shape, o.Name)
						require.Equal(t, want[o.Name].F32(), got[o.Name].F32(), "%s, %d threads", o.Name, th)
					}
				}
			})
		}
	}
}
