package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// tHSigSE is a MobileNetV3 squeeze-excite block on y (c channels) as
// torch.onnx writes it: global pool, 1x1 conv, Relu, 1x1 conv,
// HardSigmoid(alpha, beta), Mul. It returns the gated tensor.
func tHSigSE(b *mb, y string, c int, alpha, beta float32) string {
	g := b.Node("Relu", []string{tConv(b, b.Node("GlobalAveragePool", []string{y}), c, max(8, c/4), 1, 1, 1)})
	g = b.Node("HardSigmoid", []string{tConv(b, g, max(8, c/4), c, 1, 1, 1)}, tAttrF("alpha", alpha), tAttrF("beta", beta))
	return b.Node("Mul", []string{y, g})
}

// TestConvHardSigmoidFusion runs graphs where a HardSigmoid reads a 1x1
// convolution with the fold on and off: the expected number of folded steps,
// no HardSigmoid step left where it folds, outputs within GEMM tolerance of
// the steps apart and of the NCHW execution with nothing fused, at 1 and 2
// threads, batch 1 and 2.
func TestConvHardSigmoidFusion(t *testing.T) {
	cases := []struct {
		name   string
		c, h   int
		folded int
		hsig   int // HardSigmoid steps left
		build  func(b *mb) string
	}{
		{name: "MobileNetV3 squeeze-excite", c: 16, h: 14, folded: 2, build: func(b *mb) string {
			y := tHSwish(b, tConv(b, "x", 16, 72, 1, 1, 1))
			y = tConv(b, tHSigSE(b, tConv(b, y, 72, 72, 5, 1, 72), 72, 1.0/6, 0.5), 72, 40, 1, 1, 1)
			y = tConv(b, tHSigSE(b, tHSwish(b, tConv(b, y, 40, 120, 1, 1, 1)), 120, 1.0/6, 0.5), 120, 40, 1, 1, 1)
			return b.Node("GlobalAveragePool", []string{y})
		}},
		{name: "80 channels (mixed panels)", c: 16, h: 7, folded: 1, build: func(b *mb) string {
			y := tHSwish(b, tConv(b, "x", 16, 80, 1, 1, 1))
			y = tConv(b, tHSigSE(b, tConv(b, y, 80, 80, 3, 1, 80), 80, 1.0/6, 0.5), 80, 112, 1, 1, 1)
			return b.Node("GlobalAveragePool", []string{y})
		}},
		{name: "ONNX default alpha, 3x3 conv on the map", c: 8, h: 9, folded: 1, build: func(b *mb) string {
			y := b.Node("HardSigmoid", []string{tConv(b, "x", 8, 24, 3, 1, 1)}, tAttrF("alpha", 0.2), tAttrF("beta", 0.5))
			return b.Node("GlobalAveragePool", []string{tConv(b, y, 24, 16, 1, 1, 1)})
		}},
		{name: "conv with a Relu: not folded", c: 8, h: 9, hsig: 1, build: func(b *mb) string {
			y := b.Node("HardSigmoid", []string{b.Node("Relu", []string{tConv(b, "x", 8, 24, 1, 1, 1)})})
			return b.Node("GlobalAveragePool", []string{tConv(b, y, 24, 16, 1, 1, 1)})
		}},
		{name: "conv output read twice: not folded", c: 8, h: 9, hsig: 1, build: func(b *mb) string {
			y := tConv(b, "x", 8, 24, 1, 1, 1)
			z := b.Node("Add", []string{y, b.Node("HardSigmoid", []string{y})})
			return b.Node("GlobalAveragePool", []string{tConv(b, z, 24, 16, 1, 1, 1)})
		}},
	}
	for _, tc := range cases {
		for _, n := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/batch %d", tc.name, n), func(t *testing.T) {
				b := newMB(21)
				b.Input("x", graph.Dim{Size: n}, graph.Dim{Size: tc.c}, graph.Dim{Size: tc.h}, graph.Dim{Size: tc.h})
				b.Output(tc.build(b))
				m := b.Model()
				in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(3)), []int{n, tc.c, tc.h, tc.h}, -3, 3)}
				ref, err := NewSession(m, WithMode(ModeFloat), WithThreads(1), WithAllTaps())
				require.NoError(t, err)
				nchw, err := ref.RunTensors(in)
				require.NoError(t, err)
				for _, th := range []int{1, 2} {
					apart, err := NewSession(m, WithMode(ModeFloat), WithThreads(th), withoutFusions(fuseConvHSig))
					require.NoError(t, err)
					want, err := apart.RunTensors(in)
					require.NoError(t, err)
					s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
					require.NoError(t, err)
					folded, hsig := 0, 0
					for _, st := range s.steps {
						if _, ok := st.kernel.(*convHardSigmoidKernel); ok {
							folded++
						} else if isOp(st.node, "HardSigmoid") {
							hsig++
						}
					}
					require.Equal(t, tc.folded, folded, "folded steps")
					require.Equal(t, tc.hsig, hsig, "HardSigmoid steps left")
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range s.Outputs() {
						msg := fmt.Sprintf("%s, %d threads", o.Name, th)
						require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), msg)
						require.NoError(t, CompareTensors(got[o.Name], nchw[o.Name], gemmTol), msg+" against NCHW")
					}
				}
			})
		}
	}
}
