package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// tLeaky is LeakyRelu with slope alpha.
func tLeaky(b *mb, x string, alpha float32) string {
	return b.Node("LeakyRelu", []string{x}, tAttrF("alpha", alpha))
}

// leakyNet is a Darknet/face-net mix of the places a LeakyRelu or a
// one-slope PRelu follows a convolution: the 3-channel stem, a dense 3x3, a
// depthwise, a grouped and a 1x1 convolution, a residual Add, a PRelu of
// slope shape [1] and one of a [1,1,1] slope, and a LeakyRelu after a
// MaxPool (no convolution to fuse into). It returns the model and the
// number of convolution epilogues it should fuse.
func leakyNet() (*graph.Model, int) {
	b := newMB(15)
	b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 3}, graph.Dim{Size: 20}, graph.Dim{Size: 18})
	y := tLeaky(b, tConv(b, "x", 3, 16, 3, 1, 1), 0.1)
	y = tLeaky(b, tConv(b, y, 16, 32, 3, 2, 1), 0.1)
	y = tLeaky(b, tConv(b, y, 32, 32, 3, 1, 32), 0.25)
	y = tLeaky(b, tConv(b, y, 32, 32, 3, 1, 2), 0.1)
	r := y
	y = tConv(b, y, 32, 32, 1, 1, 1)
	y = tLeaky(b, b.Node("Add", []string{y, r}), 0.01)
	one := b.Init("slope", graph.FromFloat32([]int{1}, []float32{0.2}))
	y = b.Node("PRelu", []string{tConv(b, y, 32, 24, 3, 1, 1), one})
	one3 := b.Init("slope", graph.FromFloat32([]int{1, 1, 1}, []float32{-0.5}))
	y = b.Node("PRelu", []string{tConv(b, y, 24, 24, 1, 1, 1), one3})
	y = b.Node("MaxPool", []string{y}, &graph.Attr{Name: "kernel_shape", Type: graph.AttrInts, Ints: []int64{2, 2}},
		&graph.Attr{Name: "strides", Type: graph.AttrInts, Ints: []int64{2, 2}})
	y = tLeaky(b, y, 0.1)
	b.Output(y)
	return b.Model(), 7
}

// TestFusedLeakyRelu: LeakyRelu and one-slope PRelu after every kind of
// convolution become its epilogue (kernels.LeakyReluAct with the node's
// slope), channels-last and NCHW, at 1 and 2 threads, and the outputs equal
// the graph run operator by operator with nothing fused. The LeakyRelu after
// the MaxPool stays a step.
func TestFusedLeakyRelu(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	m, wantFused := leakyNet()
	in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(16)), []int{1, 3, 20, 18}, -3, 3)}
	ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	o := ref.Outputs()[0].Name
	for _, cl := range []bool{true, false} {
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("channels-last %v/%d threads", cl, th), func(t *testing.T) {
				channelsLastMode = cl
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				wantFused, fused, left := wantFused, 0, 0
				for _, st := range s.steps {
					for _, a := range postsOf(st.kernel) {
						require.Equal(t, kernels.ActLeakyRelu, a.Kind(), "step %s", st.node.Name)
						fused++
					}
					if st.node.OpType == "LeakyRelu" || st.node.OpType == "PRelu" {
						left++
					}
				}
				// NCHW has no depthwise or grouped epilogue: those two stay steps.
				wantLeft := 1
				if !cl {
					wantFused, wantLeft = wantFused-2, 3
				}
				require.Equal(t, wantFused, fused)
				require.Equal(t, wantLeft, left, "the LeakyRelu after the MaxPool")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				require.NoError(t, CompareTensors(got[o], want[o], gemmTol))
			})
		}
	}
}

// TestLeakyEpilogueExact: a convolution's fused LeakyRelu gives bit for bit
// the same tensor as the convolution alone (its output tapped, so nothing
// fuses) followed by the LeakyRelu operator's arithmetic.
func TestLeakyEpilogueExact(t *testing.T) {
	for _, tc := range []struct {
		name             string
		cin, cout, k, gr int
	}{{"stem", 3, 16, 3, 1}, {"dense", 16, 32, 3, 1}, {"depthwise", 16, 16, 3, 16}, {"pointwise", 16, 24, 1, 1}, {"grouped", 16, 32, 3, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(17)
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: tc.cin}, graph.Dim{Size: 15}, graph.Dim{Size: 17})
			c := tConv(b, "x", tc.cin, tc.cout, tc.k, 1, tc.gr)
			y := tLeaky(b, c, 0.1)
			b.Output(y)
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(18)), []int{1, tc.cin, 15, 17}, -3, 3)}
			tapped, err := NewSession(m, WithMode(ModeFloat), WithTaps(c))
			require.NoError(t, err)
			conv, err := tapped.RunTensors(in)
			require.NoError(t, err)
			s, err := NewSession(m, WithMode(ModeFloat))
			require.NoError(t, err)
			require.Len(t, s.steps, 1)
			got, err := s.RunTensors(in)
			require.NoError(t, err)
			cv := conv[c].F32()
			g := got[y].F32()
			require.Len(t, g, len(cv))
			for i, v := range cv {
				w := v
				if v < 0 {
					w = float32(0.1) * v
				}
				require.Equalf(t, w, g[i], "element %d", i)
			}
		})
	}
}
