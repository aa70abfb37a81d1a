package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
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

// TestSoftmaxAddThroughReshapes: Swin's shifted-window attention adds its
// relative position bias to the scores, then its mask to the scores viewed
// with the windows split from the batch, Reshape([B·nW, H, N, N] → [B, nW,
// H, N, N]) → Add(mask [nW, 1, N, N]) → Reshape back → Softmax; both Adds
// fold into the Softmax's row pass. Reshapes that change the last axis, or
// with another reader, do not fold.
func TestSoftmaxAddThroughReshapes(t *testing.T) {
	i64 := func(b *mb, v ...int64) string {
		return b.Init("shape", &graph.Tensor{DType: graph.Int64, Shape: []int{len(v)}, Data: v})
	}
	cases := []struct {
		name  string
		x     []int
		build func(b *mb) string // the Softmax's input, from x
		fused bool
	}{
		{name: "swin shifted windows", x: []int{8, 3, 7, 7}, fused: true, build: func(b *mb) string {
			v := b.Node("Reshape", []string{"x", i64(b, 2, 4, 3, 7, 7)})
			a := b.Node("Add", []string{v, b.RandInit("mask", []int{4, 1, 7, 7}, 50)})
			return b.Node("Reshape", []string{a, i64(b, -1, 3, 7, 7)})
		}},
		{name: "swin: position bias, then the mask through the view", x: []int{8, 3, 7, 7}, fused: true, build: func(b *mb) string {
			pb := b.Node("Add", []string{"x", b.RandInit("rpb", []int{3, 7, 7}, 2)})
			v := b.Node("Reshape", []string{pb, i64(b, 2, 4, 3, 7, 7)})
			a := b.Node("Add", []string{v, b.RandInit("mask", []int{4, 1, 7, 7}, 50)})
			return b.Node("Reshape", []string{a, i64(b, -1, 3, 7, 7)})
		}},
		{name: "two biases, no view", x: []int{2, 3, 5}, fused: true, build: func(b *mb) string {
			pb := b.Node("Add", []string{b.RandInit("b1", []int{3, 5}, 2), "x"})
			return b.Node("Add", []string{pb, b.RandInit("b2", []int{2, 1, 5}, 2)})
		}},
		{name: "mask first, rank 3 view", x: []int{6, 5, 9}, fused: true, build: func(b *mb) string {
			v := b.Node("Reshape", []string{"x", i64(b, 2, 3, 5, 9)})
			a := b.Node("Add", []string{b.RandInit("mask", []int{3, 1, 9}, 5), v})
			return b.Node("Reshape", []string{a, i64(b, 6, 5, 9)})
		}},
		// Masks written as Where (sixteenth session).
		{name: "masked_fill: Where(causal, -inf, x)", x: []int{2, 3, 7, 7}, fused: true, build: func(b *mb) string {
			return b.Node("Where", []string{causalInit(b, 7, true, 7, 7), b.Init("ninf", graph.ScalarFloat32(float32(math.Inf(-1)))), "x"})
		}},
		{name: "HF: Where(causal, x, finfo.min), then a padding Add", x: []int{2, 3, 7, 7}, fused: true, build: func(b *mb) string {
			w := b.Node("Where", []string{causalInit(b, 7, false, 1, 1, 7, 7), "x", b.Init("min", graph.ScalarFloat32(-math.MaxFloat32))})
			return b.Node("Add", []string{w, b.RandInit("pad", []int{2, 1, 1, 7}, 5)})
		}},
		{name: "an Add, then Where with a full-size constant", x: []int{2, 5, 6}, fused: true, build: func(b *mb) string {
			a := b.Node("Add", []string{"x", b.RandInit("rpb", []int{5, 6}, 2)})
			fill := &graph.Tensor{DType: graph.Float32, Shape: []int{2, 5, 6}, Data: slices.Repeat([]float32{-1e9}, 60)}
			return b.Node("Where", []string{causalInit(b, 6, false, 5, 6), a, b.Init("fill", fill)})
		}},
		{name: "Where with a constant that varies", x: []int{2, 5, 6}, fused: false, build: func(b *mb) string {
			return b.Node("Where", []string{causalInit(b, 6, false, 5, 6), "x", b.RandInit("fill", []int{6}, 3)})
		}},
		{name: "condition broadcast along the keys", x: []int{2, 5, 6}, fused: false, build: func(b *mb) string {
			return b.Node("Where", []string{causalInit(b, 6, false, 5, 1), "x", b.Init("min", graph.ScalarFloat32(-1e9))})
		}},
		{name: "last axis changed", x: []int{4, 3, 7, 7}, fused: false, build: func(b *mb) string {
			v := b.Node("Reshape", []string{"x", i64(b, 4, 3, 49)})
			a := b.Node("Add", []string{v, b.RandInit("bias", []int{49}, 3)})
			return b.Node("Reshape", []string{a, i64(b, 4, 3, 7, 7)})
		}},
		{name: "view read elsewhere", x: []int{8, 3, 7, 7}, fused: false, build: func(b *mb) string {
			v := b.Node("Reshape", []string{"x", i64(b, 2, 4, 3, 7, 7)})
			b.Output(b.Node("Relu", []string{v}))
			a := b.Node("Add", []string{v, b.RandInit("mask", []int{4, 1, 7, 7}, 50)})
			return b.Node("Reshape", []string{a, i64(b, -1, 3, 7, 7)})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(3)
			b.Input("x", staticDims(tc.x...)...)
			b.Output(b.Node("Softmax", []string{tc.build(b)}, graph.IntAttr("axis", -1)))
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(2)), tc.x, -3, 3)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				fused, others := false, 0
				for _, st := range s.steps {
					_, ok := st.kernel.(*softmaxAddKernel)
					fused = fused || ok
					if isOp(st.node, "Reshape") || isOp(st.node, "Add") || isOp(st.node, "Where") {
						others++
					}
				}
				require.Equal(t, tc.fused, fused)
				if fused {
					require.Zero(t, others, "Reshape and Add steps left")
				}
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for _, o := range m.Graph.Outputs {
					require.NoError(t, CompareTensors(got[o.Name], want[o.Name], Tolerance{Rtol: 1e-5, Atol: 1e-6}), o.Name)
				}
				// The fallback (inputs of other types or shapes) runs the
				// Reshape, Add, Reshape and Softmax one by one, same result.
				for _, st := range s.steps {
					if k, ok := st.kernel.(*softmaxAddKernel); ok {
						args := []*graph.Tensor{in["x"]}
						for _, id := range st.in[1:] {
							args = append(args, s.consts[id])
						}
						y, err := k.runUnfused(&ExecContext{Threads: th}, args)
						require.NoError(t, err)
						require.NoError(t, CompareTensors(y[0], want[m.Graph.Outputs[len(m.Graph.Outputs)-1].Name], Tolerance{Rtol: 1e-5, Atol: 1e-6}))
					}
				}
			}
		})
	}
}

// causalInit adds a constant bool condition of the given shape: for the
// element at column j of row i (its last two axes; a single row for rank
// 1), j > i+off where masked is true (masked_fill's mask), j <= i+off
// otherwise (HF's keep mask), off = the number of keys n minus the rows.
func causalInit(b *mb, n int, masked bool, shape ...int) string {
	c := make([]bool, graph.NumElements(shape))
	cols := shape[len(shape)-1]
	rows := 1
	if len(shape) > 1 {
		rows = shape[len(shape)-2]
	}
	for e := range c {
		i, j := (e/cols)%rows, e%cols
		c[e] = (j > i+n-rows) == masked
	}
	return b.Init("cond", &graph.Tensor{DType: graph.Bool, Shape: shape, Data: c})
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
