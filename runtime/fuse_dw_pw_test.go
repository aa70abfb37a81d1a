package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// TestDepthwisePointwiseFusion runs inverted-residual chains with the
// depthwise + 1x1 and 1x1 + depthwise fusions (fuse_expand_dw.go) on and off
// and with the channels-last pass off: fused steps where expected, outputs bit-identical to the unfused channels-
// last execution (the same arithmetic, band by band) and within GEMM
// tolerance of the NCHW one, at 1 and 2 threads. The cases cover stride 1 and
// 2, 3x3 and 5x5, channel counts off the 16-lane panels (24, 40, 72), a
// residual on the 1x1, an activation after it, batch 2, maps of many bands
// and of one, a depthwise output with a second reader (not fused), a 1x1
// that writes a graph output (not fused), an expansion read from the NCHW
// graph input (not fused), a depthwise channel multiplier, and depthwise
// convolutions whose output feeds a squeeze-excite pool and gate (expansion
// + depthwise + the pool folded in, fuse_expand_dw_se.go, only on small
// maps above one thread). Threads 1-3.
func TestDepthwisePointwiseFusion(t *testing.T) {
	cases := []struct {
		name  string
		c, h  int
		fused int    // depthwise + projection
		exp   int    // expansion + depthwise (+ projection)
		chans int    // of those, split by channel blocks at 2 threads
		se    [4]int // expansion + depthwise without a projection (fuse_expand_dw_se.go), by threads
		build func(b *mb) string
	}{
		{name: "mobilenet_v2 blocks, many bands", c: 16, h: 48, fused: 3, exp: 2, build: func(b *mb) string {
			x := tRelu6(b, tConv(b, "x", 16, 96, 1, 1, 1))
			x = tRelu6(b, tConv(b, x, 96, 96, 3, 2, 96))
			x = tConv(b, x, 96, 24, 1, 1, 1)
			y := tRelu6(b, tConv(b, x, 24, 144, 1, 1, 1))
			y = tRelu6(b, tConv(b, y, 144, 144, 3, 1, 144))
			x = b.Node("Add", []string{x, tConv(b, y, 144, 24, 1, 1, 1)})
			y = tRelu6(b, tConv(b, x, 24, 72, 1, 1, 1))
			y = tSiLU(b, tConv(b, y, 72, 72, 5, 1, 72))
			y = tRelu6(b, tConv(b, y, 72, 40, 1, 1, 1))
			return b.Node("GlobalAveragePool", []string{y})
		}},
		{name: "small map, second reader, graph output", c: 8, h: 7, fused: 1, exp: 1, build: func(b *mb) string {
			x := tRelu6(b, tConv(b, "x", 8, 32, 1, 1, 1))
			d := tRelu6(b, tConv(b, x, 32, 32, 3, 1, 32))
			y := tConv(b, d, 32, 16, 1, 1, 1)
			g := b.Node("GlobalAveragePool", []string{d}) // a second reader of d
			b.Output(g)
			e := tRelu6(b, tConv(b, y, 16, 48, 1, 1, 1))
			e = tRelu6(b, tConv(b, e, 48, 48, 3, 2, 48))
			z := tConv(b, e, 48, 16, 1, 1, 1)
			b.Output(b.Node("GlobalMaxPool", []string{z}))
			e2 := tRelu6(b, tConv(b, z, 16, 32, 3, 1, 16))
			return tConv(b, e2, 32, 8, 1, 1, 1) // a graph output: NCHW, not fused
		}},
		{name: "112x112 map: many bands and slabs", c: 8, h: 112, fused: 2, exp: 2, build: func(b *mb) string {
			x := tRelu6(b, tConv(b, "x", 8, 16, 3, 1, 1))
			y := tRelu6(b, tConv(b, x, 16, 96, 1, 1, 1))
			y = tRelu6(b, tConv(b, y, 96, 96, 3, 1, 96))
			y = tConv(b, y, 96, 16, 1, 1, 1)
			x = b.Node("Add", []string{x, y})
			y = tRelu6(b, tConv(b, x, 16, 64, 1, 1, 1))
			y = tRelu6(b, tConv(b, y, 64, 64, 5, 2, 64))
			return b.Node("GlobalAveragePool", []string{tConv(b, y, 64, 24, 1, 1, 1)})
		}},
		{name: "efficientnet blocks, squeeze-excite", c: 8, h: 40, fused: 1, exp: 1, se: [4]int{}, build: func(b *mb) string {
			x := tSiLU(b, tConv(b, "x", 8, 16, 3, 1, 1))
			x = tConv(b, x, 16, 24, 1, 1, 1)
			y := tSiLU(b, tConv(b, x, 24, 144, 1, 1, 1))
			y = tSiLU(b, tConv(b, y, 144, 144, 5, 2, 144))
			g := tSiLU(b, tConv(b, b.Node("GlobalAveragePool", []string{y}), 144, 8, 1, 1, 1))
			g = b.Node("Sigmoid", []string{tConv(b, g, 8, 144, 1, 1, 1)})
			y = tConv(b, b.Node("Mul", []string{y, g}), 144, 40, 1, 1, 1)
			z := tRelu6(b, tConv(b, y, 40, 80, 1, 1, 1))
			z = tRelu6(b, tConv(b, z, 80, 80, 3, 1, 80))
			z = b.Node("Add", []string{y, tConv(b, z, 80, 40, 1, 1, 1)})
			return b.Node("GlobalAveragePool", []string{z})
		}},
		{name: "14x14 and 7x7 maps: channel blocks", c: 16, h: 14, fused: 4, exp: 4, chans: 3, build: func(b *mb) string {
			x := tConv(b, "x", 16, 64, 1, 1, 1)
			y := tRelu6(b, tConv(b, x, 64, 384, 1, 1, 1))
			y = tRelu6(b, tConv(b, y, 384, 384, 3, 1, 384))
			x = b.Node("Add", []string{x, tConv(b, y, 384, 64, 1, 1, 1)})
			y = tSiLU(b, tConv(b, x, 64, 200, 1, 1, 1)) // 200: a partial last block
			y = tSiLU(b, tConv(b, y, 200, 200, 5, 2, 200))
			x = tConv(b, y, 200, 80, 1, 1, 1)
			y = tHSwish(b, tConv(b, x, 80, 480, 1, 1, 1))
			y = tRelu6(b, tConv(b, y, 480, 480, 5, 1, 480))
			x = b.Node("Add", []string{x, tConv(b, y, 480, 80, 1, 1, 1)})
			y = tRelu6(b, tConv(b, x, 80, 64, 1, 1, 1)) // too few channels: bands or apart
			y = tRelu6(b, tConv(b, y, 64, 64, 3, 1, 64))
			return b.Node("GlobalAveragePool", []string{tConv(b, y, 64, 24, 1, 1, 1)})
		}},
		{name: "squeeze-excite blocks on 14x14 and 7x7 maps", c: 16, h: 14, fused: 0, exp: 0, se: [4]int{1: 3, 2: 3, 3: 3}, build: func(b *mb) string {
			se := func(y string, c, r int) string {
				g := tSiLU(b, tConv(b, b.Node("GlobalAveragePool", []string{y}), c, r, 1, 1, 1))
				g = b.Node("Sigmoid", []string{tConv(b, g, r, c, 1, 1, 1)})
				return b.Node("Mul", []string{y, g})
			}
			x := tConv(b, "x", 16, 80, 1, 1, 1)
			y := tSiLU(b, tConv(b, x, 80, 480, 1, 1, 1))
			y = tSiLU(b, tConv(b, y, 480, 480, 3, 1, 480))
			x = b.Node("Add", []string{x, tConv(b, se(y, 480, 20), 480, 80, 1, 1, 1)})
			y = tSiLU(b, tConv(b, x, 80, 200, 1, 1, 1)) // 200: a partial last block
			y = tSiLU(b, tConv(b, y, 200, 200, 5, 2, 200))
			x = tConv(b, se(y, 200, 8), 200, 112, 1, 1, 1)
			y = tHSwish(b, tConv(b, x, 112, 672, 1, 1, 1))
			y = tHSwish(b, tConv(b, y, 672, 672, 5, 1, 672))
			return b.Node("GlobalAveragePool", []string{tConv(b, se(y, 672, 28), 672, 192, 1, 1, 1)})
		}},
	}
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(7)
			b.Input("x", graph.Dim{Size: 2}, graph.Dim{Size: tc.c}, graph.Dim{Size: tc.h}, graph.Dim{Size: tc.h})
			b.Output(tc.build(b))
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(3)), []int{2, tc.c, tc.h, tc.h}, -2, 2)}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			channelsLastMode = true
			for _, th := range []int{1, 2, 3} {
				apart, err := NewSession(m, WithMode(ModeFloat), WithThreads(th), withoutFusions(fuseDWPW|fuseExpandDW))
				require.NoError(t, err)
				same, err := apart.RunTensors(in)
				require.NoError(t, err)
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				fused, exp, chans, se := 0, 0, 0, 0
				for _, st := range s.steps {
					switch k := st.kernel.(type) {
					case *dwPointwiseKernel:
						fused++
					case *expandDWSEKernel:
						se++
						require.NotNil(t, k.pool, "the squeeze-excite pool is folded in")
						require.Len(t, st.out, 2)
					case *expandDWKernel: // always with the projection
						exp++
						fused++
						if k.expandChannelBlock(2, 2) > 0 {
							chans++
						}
					}
				}
				if tc.chans > 0 {
					require.Equal(t, tc.chans, chans, "expansion + depthwise steps split by channels at 2 threads")
				}
				require.Equal(t, tc.fused, fused, "depthwise + projection steps")
				require.Equal(t, tc.exp, exp, "expansion + depthwise steps")
				require.Equal(t, tc.se[th], se, "expansion + depthwise steps without a projection")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for _, o := range s.Outputs() {
					msg := fmt.Sprintf("%s, %d threads", o.Name, th)
					require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), msg)
					require.Equal(t, same[o.Name].Data, got[o.Name].Data, msg)
				}
			}
		})
	}
}
