package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/warboy-sim/warboy/graph"
)

// tSEBlock is an EfficientNet MBConv block on x (cin channels): 1x1
// expansion to e, depthwise k×k, squeeze-excite, 1x1 projection to cout,
// plus x when residual. It returns the block's output and the gated tensor.
func tSEBlock(b *mb, x string, cin, e, cout, k int, residual bool) (string, string) {
	y := tSiLU(b, tConv(b, x, cin, e, 1, 1, 1))
	y = tSiLU(b, tConv(b, y, e, e, k, 1, e))
	g := tSiLU(b, tConv(b, b.Node("GlobalAveragePool", []string{y}), e, max(1, e/4), 1, 1, 1))
	g = b.Node("Sigmoid", []string{tConv(b, g, max(1, e/4), e, 1, 1, 1)})
	gated := b.Node("Mul", []string{y, g})
	out := tConv(b, gated, e, cout, 1, 1, 1)
	if residual {
		out = b.Node("Add", []string{x, out})
	}
	return out, gated
}

// TestGatePointwiseFusion runs squeeze-excite blocks with the gate +
// projection fusion on and off: fused steps where expected, outputs within
// GEMM tolerance of the unfused channels-last execution (the gate multiplies
// the weights instead of the activations: a different rounding), at 1 and 2
// threads, batch 1 and 2. The maps of at least as many pixels as the
// projection has outputs take the folded path, the others (7x7 into 64
// channels) gate apart inside the fused step; the cases cover residuals,
// channel counts off the 16-lane panels (24, 40, 72), the gate operand
// first, and gated tensors that are not fused (a second reader, a graph
// output, a projection writing an NCHW graph output).
func TestGatePointwiseFusion(t *testing.T) {
	cases := []struct {
		name  string
		c, h  int
		fused int
		build func(b *mb) string
	}{
		{name: "folded, residual", c: 16, h: 20, fused: 2, build: func(b *mb) string {
			x, _ := tSEBlock(b, "x", 16, 96, 24, 3, false)
			x, _ = tSEBlock(b, x, 24, 72, 24, 5, true)
			return b.Node("GlobalAveragePool", []string{x})
		}},
		{name: "folded, 112 channels (mixed panels)", c: 16, h: 12, fused: 1, build: func(b *mb) string {
			x, _ := tSEBlock(b, "x", 16, 96, 112, 3, false)
			return b.Node("GlobalAveragePool", []string{x})
		}},
		{name: "folded, 40 channels", c: 8, h: 12, fused: 1, build: func(b *mb) string {
			x, _ := tSEBlock(b, "x", 8, 48, 40, 3, false)
			return b.Node("GlobalAveragePool", []string{x})
		}},
		{name: "projection writes a graph output (NCHW): not fused", c: 8, h: 12, fused: 0, build: func(b *mb) string {
			x, _ := tSEBlock(b, "x", 8, 48, 40, 3, false)
			return x
		}},
		{name: "7x7 map: gated apart in the step", c: 32, h: 7, fused: 2, build: func(b *mb) string {
			x, _ := tSEBlock(b, "x", 32, 128, 64, 3, false)
			x, _ = tSEBlock(b, x, 64, 256, 64, 3, true)
			return b.Node("GlobalAveragePool", []string{x})
		}},
		{name: "gate operand first", c: 8, h: 10, fused: 1, build: func(b *mb) string {
			y := tSiLU(b, tConv(b, tConv(b, "x", 8, 32, 1, 1, 1), 32, 32, 3, 1, 32))
			g := b.Node("Sigmoid", []string{tConv(b, b.Node("GlobalAveragePool", []string{y}), 32, 32, 1, 1, 1)})
			return b.Node("GlobalAveragePool", []string{tConv(b, b.Node("Mul", []string{g, y}), 32, 16, 1, 1, 1)})
		}},
		{name: "second reader, gated graph output: not fused", c: 8, h: 10, fused: 0, build: func(b *mb) string {
			x, gated := tSEBlock(b, "x", 8, 32, 16, 3, false)
			b.Output(b.Node("GlobalMaxPool", []string{gated}))
			y, gated2 := tSEBlock(b, x, 16, 32, 16, 3, true)
			b.Output(gated2)
			return b.Node("GlobalAveragePool", []string{y})
		}},
	}
	for _, tc := range cases {
		for _, n := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/batch %d", tc.name, n), func(t *testing.T) {
				b := newMB(11)
				b.Input("x", graph.Dim{Size: n}, graph.Dim{Size: tc.c}, graph.Dim{Size: tc.h}, graph.Dim{Size: tc.h})
				b.Output(tc.build(b))
				m := b.Model()
				in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(5)), []int{n, tc.c, tc.h, tc.h}, -2, 2)}
				for _, th := range []int{1, 2} {
					apart, err := NewSession(m, WithMode(ModeFloat), WithThreads(th), withoutFusions(fuseGatePW))
					require.NoError(t, err)
					want, err := apart.RunTensors(in)
					require.NoError(t, err)
					s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
					require.NoError(t, err)
					fused := 0
					for _, st := range s.steps {
						if _, ok := st.kernel.(*gatePointwiseKernel); ok {
							fused++
						}
					}
					require.Equal(t, tc.fused, fused, "gate + projection steps")
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range s.Outputs() {
						msg := fmt.Sprintf("%s, %d threads", o.Name, th)
						require.Equal(t, want[o.Name].Shape, got[o.Name].Shape, msg)
						require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), msg)
					}
				}
			})
		}
	}
}
