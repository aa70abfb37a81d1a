package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// clampOfStep returns the clamp a convolution step applies in its store, and
// whether it reads its input channels-last.
func clampOfStep(k Kernel) (lo, hi float32, clip, inNHWC bool) {
	switch k := k.(type) {
	case *fusedConvKernel:
		return k.lo, k.hi, k.act != nil, false
	case *tapRowsKernel:
		return k.rows.lo, k.rows.hi, k.rows.clip, k.rows.inNHWC
	case *rowsConvKernel:
		return k.lo, k.hi, k.clip, k.inNHWC
	}
	return 0, 0, false, false
}

// TestClipSpellingsReachFusedConv builds every way exporters write a clipped
// activation after a Conv (fourteenth session): ReLU6 as Relu then Clip(max=6)
// (torch.onnx at opsets 9 and 11+), Clip with min/max attributes (opset < 11),
// with Constant-node or initializer inputs, with an empty min or max, Hardtanh
// bounds, and a Clip after a Clip. Each must become the clamp of the Conv's
// store (one step, the intersection of the ranges), leave the next Conv reading
// channels-last, and give the outputs of the graph run operator by operator.
// Disjoint ranges, and a Clip after a non-convolution, stay a Clip step, which
// keeps the chain channels-last.
func TestClipSpellingsReachFusedConv(t *testing.T) {
	inf := float32(math.Inf(1))
	attrs := func(lo, hi *float32) []*graph.Attr {
		var a []*graph.Attr
		if lo != nil {
			a = append(a, tAttrF("min", *lo))
		}
		if hi != nil {
			a = append(a, tAttrF("max", *hi))
		}
		return a
	}
	f := func(v float32) *float32 { return &v }
	constNode := func(b *mb, v float32) string {
		return b.Node("Constant", nil, &graph.Attr{Name: "value", Type: graph.AttrTensor, T: graph.ScalarFloat32(v)})
	}
	clipAttrs := func(lo, hi *float32) func(b *mb, x string) string {
		return func(b *mb, x string) string { return b.Node("Clip", []string{x}, attrs(lo, hi)...) }
	}
	// clipInputs writes the bounds as Constant nodes (torch.onnx) or
	// initializers; nil is an empty input name.
	clipInputs := func(lo, hi *float32, constants bool) func(b *mb, x string) string {
		return func(b *mb, x string) string {
			in := []string{x, "", ""}
			for i, v := range []*float32{lo, hi} {
				switch {
				case v == nil:
				case constants:
					in[i+1] = constNode(b, *v)
				default:
					in[i+1] = b.Init("bound", graph.ScalarFloat32(*v))
				}
			}
			if hi == nil {
				in = in[:2]
			}
			return b.Node("Clip", in)
		}
	}
	relu := func(b *mb, x string) string { return b.Node("Relu", []string{x}) }
	then := func(a, c func(b *mb, x string) string) func(b *mb, x string) string {
		return func(b *mb, x string) string { return c(b, a(b, x)) }
	}
	cases := []struct {
		name   string
		opset  int64
		act    func(b *mb, x string) string
		pool   bool // a MaxPool between the first Conv and the activation
		lo, hi float32
		steps  int // executed steps
		clips  int // Clip steps left
	}{
		{"relu6 op9: Relu, Clip(max=6) attributes", 9, then(relu, clipAttrs(nil, f(6))), false, 0, 6, 2, 0},
		{"hardtanh op9: Clip(-1, 1) attributes", 9, clipAttrs(f(-1), f(1)), false, -1, 1, 2, 0},
		{"clamp(min=0) op9", 9, clipAttrs(f(0), nil), false, 0, inf, 2, 0},
		{"clamp(max=4) op9", 9, clipAttrs(nil, f(4)), false, -inf, 4, 2, 0},
		{"relu6 op12: Relu, Clip(Constant 0, Constant 6)", 12, then(relu, clipInputs(f(0), f(6), true)), false, 0, 6, 2, 0},
		{"relu6 op11: Relu, Clip(empty, initializer 6)", 11, then(relu, clipInputs(nil, f(6), false)), false, 0, 6, 2, 0},
		{"hardtanh op12: Clip(Constant -2.5, Constant 2.5)", 12, clipInputs(f(-2.5), f(2.5), true), false, -2.5, 2.5, 2, 0},
		{"clamp(min=0) op13: Clip(x, 0)", 13, clipInputs(f(0), nil, false), false, 0, inf, 2, 0},
		{"clamp(max=4) op13: Clip(x, empty, 4)", 13, clipInputs(nil, f(4), true), false, -inf, 4, 2, 0},
		{"relu6 op13: Clip(0, 6) then Relu", 13, then(clipInputs(f(0), f(6), true), relu), false, 0, 6, 2, 0},
		{"Clip(-3, 5) then Clip(-1, 8) op13", 13, then(clipInputs(f(-3), f(5), false), clipInputs(f(-1), f(8), false)), false, -1, 5, 2, 0},
		{"disjoint: Relu then Clip(-3, -1) stays a step", 13, then(relu, clipInputs(f(-3), f(-1), false)), false, 0, inf, 3, 1},
		{"after a MaxPool op9: channels-last Relu and Clip steps", 9, then(relu, clipAttrs(nil, f(6))), true, 0, 0, 5, 2},
		{"after a MaxPool op13: a channels-last Clip step", 13, clipInputs(f(-1), f(1), true), true, 0, 0, 4, 1},
	}
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	channelsLastMode = true
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(11)
			b.Opsets[""] = tc.opset
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 8}, graph.Dim{Size: 12}, graph.Dim{Size: 11})
			y := tConv(b, "x", 8, 16, 3, 1, 1)
			if tc.pool {
				y = b.Node("MaxPool", []string{y}, &graph.Attr{Name: "kernel_shape", Type: graph.AttrInts, Ints: []int64{2, 2}})
			}
			y = tConv(b, tc.act(b, y), 16, 24, 1, 1, 1)
			b.Output(y)
			m := b.Model()
			// Inputs wide enough that every bound cuts.
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(4)), []int{1, 8, 12, 11}, -6, 6)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				require.Len(t, s.steps, tc.steps)
				clips := 0
				for _, st := range s.steps {
					if st.node.OpType == "Clip" || st.node.OpType == "Relu" {
						clips++
					}
				}
				require.Equal(t, tc.clips, clips, "Clip/Relu steps left")
				lo, hi, clip, _ := clampOfStep(s.steps[0].kernel)
				if !tc.pool {
					require.True(t, clip, "the first Conv clamps in its store")
					require.Equal(t, tc.lo, lo)
					require.Equal(t, tc.hi, hi)
				}
				_, _, _, inNHWC := clampOfStep(s.steps[len(s.steps)-1].kernel)
				require.True(t, inNHWC, "the second Conv reads channels-last")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				o := s.Outputs()[0].Name
				require.NoError(t, CompareTensors(got[o], want[o], gemmTol), fmt.Sprintf("%d threads", th))
			}
		})
	}
}

// TestChannelMinMaxKeepsChannelsLast: torch.max(torch.min(x, hi), lo) with
// [C, 1, 1] parameters (learned per-channel clipping bounds) between two Convs
// stays in the channels-last chain (fourteenth session), with the outputs of
// the graph run operator by operator, NaN inputs and a zero bound included.
func TestChannelMinMaxKeepsChannelsLast(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	channelsLastMode = true
	for _, shape := range [][]int{{16, 1, 1}, {1, 16, 1, 1}, {1}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			b := newMB(12)
			b.Input("x", graph.Dim{Size: 2}, graph.Dim{Size: 8}, graph.Dim{Size: 9}, graph.Dim{Size: 10})
			y := tConv(b, "x", 8, 16, 3, 1, 1)
			r := rand.New(rand.NewSource(8))
			n := graph.NumElements(shape)
			hv, lv := make([]float32, n), make([]float32, n)
			for i := range hv {
				hv[i], lv[i] = 0.5+r.Float32(), -0.5-r.Float32()
			}
			if n == 1 {
				hv[0] = 0 // a zero bound: the exact scalar rule (layout_minmax.go)
			}
			hi := b.Init("hi", graph.FromFloat32(shape, hv))
			lo := b.Init("lo", graph.FromFloat32(shape, lv))
			y = b.Node("Max", []string{b.Node("Min", []string{y, hi}), lo})
			b.Output(tConv(b, y, 16, 12, 1, 1, 1))
			m := b.Model()
			x := randInput(rand.New(rand.NewSource(5)), []int{2, 8, 9, 10}, -4, 4)
			x.F32()[17] = float32(math.NaN())
			in := map[string]*graph.Tensor{"x": x}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				kinds := 0
				for _, st := range s.steps {
					if _, ok := st.kernel.(*nhwcChannelMinMaxKernel); ok {
						kinds++
					}
				}
				require.Equal(t, 2, kinds, "Min and Max run channels-last")
				_, _, _, inNHWC := clampOfStep(s.steps[len(s.steps)-1].kernel)
				require.True(t, inNHWC, "the second Conv reads channels-last")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				o := s.Outputs()[0].Name
				require.NoError(t, CompareTensors(got[o], want[o], gemmTol), fmt.Sprintf("%d threads", th))
			}
		})
	}
}
