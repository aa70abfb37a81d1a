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

// TestConvEpilogueFusion checks that fusing Conv + Add + Relu/Clip in the float32
// executor gives bit for bit the outputs of the unfused operators (a session with
// every tensor tapped fuses nothing), and that it fuses exactly what it may.
func TestConvEpilogueFusion(t *testing.T) {
	dims := func(n ...int) []graph.Dim {
		d := make([]graph.Dim, len(n))
		for i, v := range n {
			d[i] = graph.Dim{Size: v}
		}
		return d
	}
	f32c := func(v float32) *graph.Tensor { return graph.FromFloat32([]int{}, []float32{v}) }
	cases := []struct {
		name  string
		build func(b *mb) // input "x" [2, 8, 9, 9]
		// steps is the number of executed steps after fusion.
		steps int
		taps  []string
	}{
		{name: "conv relu", steps: 1, build: func(b *mb) {
			b.Output(b.Node("Relu", []string{b.conv("x", 8, 16, 3, 1, 1, 1, true)}))
		}},
		{name: "conv without bias, clip constants", steps: 1, build: func(b *mb) {
			c := b.conv("x", 8, 16, 3, 2, 1, 1, false)
			b.Output(b.Node("Clip", []string{c, b.Init("lo", f32c(-0.1)), b.Init("hi", f32c(0.6))}))
		}},
		{name: "clip with only max", steps: 1, build: func(b *mb) {
			b.Output(b.Node("Clip", []string{b.conv("x", 8, 16, 1, 1, 0, 1, true), "", b.Init("hi", f32c(6))}))
		}},
		{name: "residual computed after the conv, then relu", steps: 2, build: func(b *mb) {
			c1 := b.conv("x", 8, 8, 3, 1, 1, 1, true)
			r := b.Node("Relu", []string{b.conv("x", 8, 8, 1, 1, 0, 1, true)})
			b.Output(b.Node("Relu", []string{b.Node("Add", []string{c1, r})}))
		}},
		{name: "residual first", steps: 1, build: func(b *mb) {
			b.Output(b.Node("Add", []string{"x", b.conv("x", 8, 8, 3, 1, 1, 1, true)}))
		}},
		{name: "broadcast residual takes the general path", steps: 1, build: func(b *mb) {
			// Varying along W: not a per-channel constant the graph clean-up
			// would fold into the bias (graph/optimize/conv_affine.go).
			s := b.RandInit("s", []int{1, 8, 1, 9}, 1)
			b.Output(b.Node("Relu", []string{b.Node("Add", []string{b.conv("x", 8, 8, 3, 1, 1, 1, true), s})}))
		}},
		{name: "conv output also a graph output", steps: 2, build: func(b *mb) {
			c := b.conv("x", 8, 8, 3, 1, 1, 1, true)
			b.Output(c)
			b.Output(b.Node("Relu", []string{c}))
		}},
		{name: "two readers", steps: 3, build: func(b *mb) {
			c := b.conv("x", 8, 8, 3, 1, 1, 1, true)
			b.Output(b.Node("Relu", []string{c}))
			b.Output(b.Node("Sigmoid", []string{c}))
		}},
		{name: "clip with a computed bound", steps: 3, build: func(b *mb) {
			c := b.conv("x", 8, 8, 3, 1, 1, 1, true)
			hi := b.Node("ReduceMax", []string{"x"}, graph.IntAttr("keepdims", 0))
			b.Output(b.Node("Clip", []string{c, "", hi}))
		}},
		{name: "add of the conv with itself", steps: 2, build: func(b *mb) {
			c := b.conv("x", 8, 8, 3, 1, 1, 1, true)
			b.Output(b.Node("Add", []string{c, c}))
		}},
		{name: "tapped intermediate", steps: 2, taps: []string{"Conv_out"}, build: func(b *mb) {
			b.Output(b.Node("Relu", []string{b.conv("x", 8, 8, 3, 1, 1, 1, true)}))
		}},
	}
	defer func(m int) { shiftedMode = m }(shiftedMode)
	for _, tc := range cases {
		for _, mode := range []int{1, -1} {
			shiftedMode = mode
			t.Run(fmt.Sprintf("%s/shifted=%d", tc.name, mode), func(t *testing.T) {
				b := newMB(7)
				b.Input("x", dims(2, 8, 9, 9)...)
				tc.build(b)
				m := b.Model()
				x := randInput(rand.New(rand.NewSource(3)), []int{2, 8, 9, 9}, -1, 1)
				in := map[string]*graph.Tensor{"x": x}
				var taps []string
				for _, tp := range tc.taps {
					// Builder names carry a counter: resolve the prefix.
					for _, n := range m.Graph.Nodes {
						if len(n.Outputs[0]) > len(tp) && n.Outputs[0][:len(tp)] == tp {
							taps = append(taps, n.Outputs[0])
						}
					}
				}
				fused, err := NewSession(m, WithMode(ModeFloat), WithTaps(taps...))
				require.NoError(t, err)
				require.Len(t, fused.steps, tc.steps)
				plain, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
				require.NoError(t, err)
				require.Len(t, plain.steps, len(m.Graph.Nodes))
				for _, th := range []int{1, 2} {
					fused.cfg.threads, plain.cfg.threads = th, th
					got, err := fused.RunTensors(in)
					require.NoError(t, err)
					want, err := plain.RunTensors(in)
					require.NoError(t, err)
					require.NotEmpty(t, got)
					for name, g := range got {
						w := want[name]
						require.NotNil(t, w, name)
						require.Equal(t, w.Shape, g.Shape, name)
						require.Equal(t, w.F32(), g.F32(), "%s, %d threads", name, th)
						for _, v := range g.F32() {
							require.False(t, math.IsNaN(float64(v)))
						}
					}
				}
			})
		}
	}
}

// TestArenaKeepsViewsAlive checks the recycling of activation buffers: a view
// (Reshape) of a convolution's output outlives the convolution's own tensor while
// later convolutions of the same size take recycled buffers; results must equal a
// session that recycles nothing (every tensor tapped), run after run and with
// concurrent runs.
func TestArenaKeepsViewsAlive(t *testing.T) {
	b := newMB(11)
	b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 8}, graph.Dim{Size: 32}, graph.Dim{Size: 32})
	flat := b.Init("flat", graph.FromInt64([]int{2}, []int64{8, 1024}))
	back := b.Init("back", graph.FromInt64([]int{4}, []int64{1, 8, 32, 32}))
	v := b.Node("Reshape", []string{b.conv("x", 8, 8, 3, 1, 1, 1, true), flat})
	c2 := b.Node("Relu", []string{b.conv("x", 8, 8, 3, 1, 1, 1, true)})
	c3 := b.conv(c2, 8, 8, 1, 1, 0, 1, false)
	b.Output(b.Node("Add", []string{b.Node("Reshape", []string{v, back}), c3}))
	m := b.Model()
	x := randInput(rand.New(rand.NewSource(5)), []int{1, 8, 32, 32}, -1, 1)
	in := map[string]*graph.Tensor{"x": x}

	plain, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := plain.RunTensors(in)
	require.NoError(t, err)
	out := m.Graph.Outputs[0].Name

	s, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	// The session runs the chain channels-last (another summation order than
	// the all-taps session's): close to it, then identical run after run.
	first, err := s.RunTensors(in)
	require.NoError(t, err)
	require.NoError(t, CompareTensors(first[out], want[out], gemmTol))
	want = first
	for run := 0; run < 3; run++ {
		got, err := s.RunTensors(in)
		require.NoError(t, err)
		require.Equal(t, want[out].F32(), got[out].F32(), "run %d", run)
	}
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for run := 0; run < 3; run++ {
				got, err := s.RunTensors(in)
				if err == nil && !slices.Equal(want[out].F32(), got[out].F32()) {
					err = assertErr("concurrent run differs")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		require.NoError(t, <-errs)
	}
}

type assertErr string

func (e assertErr) Error() string { return string(e) }
