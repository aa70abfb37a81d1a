package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

func TestPReluChannels(t *testing.T) {
	for _, tc := range []struct {
		xs, ss []int
		c      int
		ok     bool
	}{
		{[]int{1, 8, 5, 5}, []int{8, 1, 1}, 8, true},
		{[]int{2, 8, 5, 5}, []int{1, 8, 1, 1}, 8, true},
		{[]int{1, 8, 5, 5}, []int{1}, 1, true},
		{[]int{1, 8, 5, 5}, []int{1, 1, 1}, 1, true},
		{[]int{1, 8, 5, 5}, []int{}, 1, true},
		{[]int{1, 8, 5}, []int{8, 1}, 8, true},
		{[]int{1, 8, 5, 5}, []int{1, 1, 1, 1, 1}, 0, false}, // would add an axis
		{[]int{1, 8, 5, 5}, []int{5}, 0, false},             // along W
		{[]int{1, 8, 5, 5}, []int{8, 5, 5}, 0, false},
		{[]int{1, 8, 5, 5}, []int{4, 1, 1}, 0, false},
		{[]int{8}, []int{8}, 0, false},
	} {
		c, ok := preluChannels(tc.xs, tc.ss)
		require.Equal(t, tc.ok, ok, "%v by %v", tc.xs, tc.ss)
		if ok {
			require.Equal(t, tc.c, c, "%v by %v", tc.xs, tc.ss)
		}
	}
}

// preluRef is the operator's definition with numpy broadcasting of a slope
// of shape ss right-aligned against x.
func preluRef(x *graph.Tensor, slope []float32, ss []int) []float32 {
	xs := x.Shape
	out := make([]float32, len(x.F32()))
	for i, v := range x.F32() {
		// index of i in the slope
		si, mul, rem := 0, 1, i
		idx := make([]int, len(xs))
		for a := len(xs) - 1; a >= 0; a-- {
			idx[a] = rem % xs[a]
			rem /= xs[a]
		}
		for k := len(ss) - 1; k >= 0; k-- {
			a := len(xs) - len(ss) + k
			if ss[k] != 1 {
				si += idx[a] * mul
			}
			mul *= ss[k]
		}
		if v < 0 {
			v = slope[si] * v
		}
		out[i] = v
	}
	return out
}

// TestPReluKernel: the vector PRelu (one slope, one per channel) and the
// generic fallback (a slope along W) give the definition's bits at 1 and 2
// threads, NaN, ±0 and ±Inf included.
func TestPReluKernel(t *testing.T) {
	rng := rand.New(rand.NewSource(21))
	for _, tc := range []struct{ xs, ss []int }{
		{[]int{1, 24, 13, 11}, []int{24, 1, 1}},
		{[]int{2, 40, 64, 65}, []int{1, 40, 1, 1}},
		{[]int{1, 24, 13, 11}, []int{1}},
		{[]int{1, 8, 130, 130}, []int{1, 1, 1}},
		{[]int{1, 24, 13, 11}, []int{11}},
		{[]int{3, 16, 7}, []int{16, 1}},
	} {
		for _, th := range []int{1, 2} {
			t.Run(fmt.Sprintf("%v by %v/%d threads", tc.xs, tc.ss, th), func(t *testing.T) {
				x := randInput(rng, tc.xs, -4, 4)
				xd := x.F32()
				xd[0], xd[1], xd[2], xd[len(xd)-1] = float32(math.NaN()), float32(math.Copysign(0, -1)), float32(math.Inf(-1)), float32(math.Inf(1))
				s := randInput(rng, tc.ss, -0.5, 0.5)
				k, err := buildPRelu(&BuildContext{Node: &graph.Node{OpType: "PRelu", Name: "p"}})
				require.NoError(t, err)
				got, err := k.Run(&ExecContext{Threads: th}, []*graph.Tensor{x, s})
				require.NoError(t, err)
				require.Equal(t, tc.xs, got[0].Shape)
				want := preluRef(x, s.F32(), tc.ss)
				for i := range want {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[0].F32()[i]), "element %d", i)
				}
			})
		}
	}
}

// TestPReluChannelsLast: a PRelu with one slope per channel between two
// convolutions stays in the channels-last chain (nhwcPReluKernel, not a
// layout change on either side), as do the PRelus of a [1,C,1,1] slope and
// of a one-slope PRelu after an Add (no convolution to fuse into); outputs
// equal the unfused NCHW run.
func TestPReluChannelsLast(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	channelsLastMode = true
	b := newMB(22)
	b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 3}, graph.Dim{Size: 24}, graph.Dim{Size: 22})
	y := tConv(b, "x", 3, 24, 3, 2, 1)
	y = b.Node("PRelu", []string{y, b.RandInit("s", []int{24, 1, 1}, 0.4)})
	y = tConv(b, y, 24, 24, 3, 1, 24)
	y = b.Node("PRelu", []string{y, b.RandInit("s", []int{1, 24, 1, 1}, 0.4)})
	r := y
	y = tConv(b, y, 24, 24, 1, 1, 1)
	y = b.Node("Add", []string{y, r})
	y = b.Node("Relu", []string{y})
	y = b.Node("PRelu", []string{b.Node("Add", []string{y, r}), b.Init("s", graph.FromFloat32([]int{1}, []float32{0.3}))})
	y = tConv(b, y, 24, 16, 1, 1, 1)
	b.Output(y)
	m := b.Model()
	in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(23)), []int{1, 3, 24, 22}, -3, 3)}
	ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	for _, th := range []int{1, 2} {
		s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
		require.NoError(t, err)
		nhwc, checked := 0, 0
		for _, st := range s.steps {
			if _, ok := st.kernel.(*nhwcPReluKernel); ok {
				nhwc++
			}
			if rk, ok := st.kernel.(*rowsConvKernel); ok && s.nameOf(st.in[0]) != "x" {
				require.True(t, rk.inNHWC, "%s reads channels-last", st.node.Name)
				checked++
			}
		}
		require.Equal(t, 3, nhwc)
		require.Equal(t, 2, checked, "the 1x1 convolutions after the PRelus")
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		o := s.Outputs()[0].Name
		require.NoError(t, CompareTensors(got[o], want[o], gemmTol))
	}
}
