package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestSoftmaxAdd checks Softmax(x + b) over the last axis run as one step
// against the two operators run one by one, for the biases and masks
// attention adds (broadcast over windows, heads or batch; full shape; one
// row), at 1 and 2 threads, and that a bias broadcast along the last axis
// or a tapped sum stays unfused.
func TestSoftmaxAdd(t *testing.T) {
	cases := []struct {
		x, b   []int
		first  bool // b is the Add's first input
		tapped bool
		fused  bool
	}{
		{x: []int{4, 3, 7, 7}, b: []int{1, 3, 7, 7}, fused: true},
		{x: []int{2, 4, 3, 5, 5}, b: []int{4, 1, 5, 5}, first: true, fused: true},
		{x: []int{6, 20}, b: []int{6, 20}, fused: true},
		{x: []int{3, 4, 17}, b: []int{17}, fused: true},
		{x: []int{3, 4, 17}, b: []int{4, 1}, fused: false},
		{x: []int{4, 3, 7, 7}, b: []int{1, 3, 7, 7}, tapped: true, fused: false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v+%v", tc.x, tc.b), func(t *testing.T) {
			b := newMB(7)
			b.Input("x", staticDims(tc.x...)...)
			h := b.Node("Mul", []string{"x", b.Init("s", graph.ScalarFloat32(2))})
			bias := b.RandInit("bias", tc.b, 3)
			sum := b.Node("Add", []string{h, bias})
			if tc.first {
				sum = b.Node("Add", []string{bias, h})
			}
			b.Output(b.Node("Softmax", []string{sum}, graph.IntAttr("axis", -1)))
			m := b.Model()
			var taps []string
			if tc.tapped {
				taps = []string{sum}
			}
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(9)), tc.x, -3, 3)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th), WithTaps(taps...))
				require.NoError(t, err)
				fused := false
				for _, st := range s.steps {
					_, ok := st.kernel.(*softmaxAddKernel)
					fused = fused || ok
				}
				require.Equal(t, tc.fused, fused)
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for name, w := range want {
					if g, ok := got[name]; ok {
						require.NoError(t, CompareTensors(g, w, Tolerance{Rtol: 1e-5, Atol: 1e-6}), name)
					}
				}
			}
		})
	}
}

// TestBroadcastRows checks the row offsets of a broadcast bias.
func TestBroadcastRows(t *testing.T) {
	rows, ok := broadcastRows([]int{2, 3, 4}, []int{3, 4})
	require.True(t, ok)
	require.Equal(t, []int32{0, 4, 8, 0, 4, 8}, rows)
	rows, ok = broadcastRows([]int{2, 3, 4}, []int{2, 1, 4})
	require.True(t, ok)
	require.Equal(t, []int32{0, 0, 0, 4, 4, 4}, rows)
	_, ok = broadcastRows([]int{2, 3, 4}, []int{2, 2, 4})
	require.False(t, ok)
}
