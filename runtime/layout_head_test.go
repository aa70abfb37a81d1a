package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// TestHeadSplit runs detection heads written the way torch.onnx writes
// YOLOv5's Detect (Conv → Reshape [N, A·K, H, W] → [N, A, K, H, W] →
// Transpose (0, 1, 3, 4, 2) → Sigmoid) through the float32 executor against
// the operators run one by one (WithAllTaps), at 1 and 2 threads, and checks
// which steps were fused: the split into a 1x1 or 3x3 channels-last
// convolution (several L2 bands and partial row blocks on the 48x48 map), a
// Transpose with a second reader (no Sigmoid fused), a split of an NCHW
// graph input (transposing path), a tapped Reshape output (no fusion) and a
// batch of two.
func TestHeadSplit(t *testing.T) {
	ints := func(name string, v ...int) *graph.Attr { return graph.IntsAttr(name, v) }
	head := func(b *mb, x string, n, a, k, h, w int, sigmoid bool) string {
		r := b.Node("Reshape", []string{x, b.i64(int64(n), int64(a), int64(k), int64(h), int64(w))})
		y := b.Node("Transpose", []string{r}, ints("perm", 0, 1, 3, 4, 2))
		if sigmoid {
			y = b.Node("Sigmoid", []string{y})
		}
		return y
	}
	cases := []struct {
		name          string
		x             []int
		build         func(b *mb)
		fused, plain  int         // convolutions with a split; headSplitKernel steps
		act           kernels.Act // of every split
		tap           string      // op type of a node output to tap
		nhwcSplitStep bool        // the plain split reads channels-last
	}{
		{name: "1x1 head on 48x48, 51 = 3·17 channels", x: []int{1, 8, 48, 48}, fused: 1, act: kernels.ActSigmoid, build: func(b *mb) {
			s := b.conv("x", 8, 32, 3, 1, 1, 1, true)
			b.Output(head(b, b.conv(s, 32, 51, 1, 1, 0, 1, true), 1, 3, 17, 48, 48, true))
		}},
		{name: "3x3 head, batch 2", x: []int{2, 16, 9, 11}, fused: 1, act: kernels.ActSigmoid, build: func(b *mb) {
			s := b.conv("x", 16, 32, 1, 1, 0, 1, true)
			b.Output(head(b, b.conv(s, 32, 24, 3, 1, 1, 1, true), 2, 2, 12, 9, 11, true))
		}},
		{name: "Transpose read twice", x: []int{1, 8, 12, 10}, fused: 1, act: kernels.ActNone, build: func(b *mb) {
			s := b.conv("x", 8, 16, 3, 1, 1, 1, true)
			y := head(b, b.conv(s, 16, 255, 1, 1, 0, 1, true), 1, 3, 85, 12, 10, false)
			b.Output(b.Node("Sigmoid", []string{y}), b.Node("Relu", []string{y}))
		}},
		{name: "NCHW input", x: []int{2, 6, 5, 7}, plain: 1, act: kernels.ActSigmoid, build: func(b *mb) {
			b.Output(head(b, "x", 2, 2, 3, 5, 7, true))
		}},
		{name: "conv output read twice", x: []int{1, 8, 20, 20}, plain: 1, act: kernels.ActSigmoid, nhwcSplitStep: true, build: func(b *mb) {
			s := b.conv(b.conv("x", 8, 16, 3, 1, 1, 1, true), 16, 48, 1, 1, 0, 1, true)
			b.Output(head(b, s, 1, 3, 16, 20, 20, true), b.Node("GlobalAveragePool", []string{s}))
		}},
		{name: "tapped Reshape", x: []int{1, 8, 6, 6}, tap: "Reshape", build: func(b *mb) {
			s := b.conv("x", 8, 16, 3, 1, 1, 1, true)
			b.Output(head(b, b.conv(s, 16, 32, 1, 1, 0, 1, true), 1, 2, 16, 6, 6, true))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(31)
			b.Input("x", staticDims(tc.x...)...)
			tc.build(b)
			m := b.Model()
			var taps []string
			for _, n := range m.Graph.Nodes {
				if n.OpType == tc.tap {
					taps = append(taps, n.Outputs[0])
				}
			}
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(5)), tc.x, -2, 2)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th), WithTaps(taps...))
				require.NoError(t, err)
				fused, plain := 0, 0
				for _, st := range s.steps {
					if k, ok := st.kernel.(*rowsConvKernel); ok && k.split != nil {
						fused++
						require.Equal(t, tc.act, k.split.act)
					}
					if k, ok := st.kernel.(*headSplitKernel); ok {
						plain++
						require.Equal(t, tc.act, k.act)
						require.Equal(t, tc.nhwcSplitStep, k.nhwc)
					}
				}
				require.Equal(t, tc.fused, fused, "convolutions with the split")
				require.Equal(t, tc.plain, plain, "head split steps")
				for run := 0; run < 2; run++ {
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range m.Graph.Outputs {
						require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), fmt.Sprintf("%s, %d threads", o.Name, th))
					}
				}
			}
		})
	}
}
