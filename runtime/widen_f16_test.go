package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestFloat16ModelRunsInFloat32 runs float16 models as onnxconverter-common
// writes them (float16 weights; float32 interface through Casts, or float16
// input and output) on the float32 kernels: no float16 initializer or Cast to
// float16 is left in the executed model but the one a float16 output ends with, the outputs keep the model's types,
// and they are within float16 rounding of the model run as written (its
// float16 operators, every tensor tapped). A tapped session keeps the float16
// types the taps show.
func TestFloat16ModelRunsInFloat32(t *testing.T) {
	for _, keepIO := range []bool{true, false} {
		t.Run(fmt.Sprintf("keep_io_types %v", keepIO), func(t *testing.T) {
			b := newMB(13)
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 6}, graph.Dim{Size: 10}, graph.Dim{Size: 9})
			x := "x"
			if keepIO {
				x = b.Node("Cast", []string{x}, graph.IntAttr("to", int64(graph.Float16)))
			} else {
				b.G.Inputs[0].DType = graph.Float16
			}
			y := b.Node("Relu", []string{b.conv(x, 6, 12, 3, 1, 1, 2, true)})
			y = b.Node("Relu", []string{b.conv(y, 12, 12, 3, 2, 1, 12, true)})
			y = b.Node("GlobalAveragePool", []string{b.conv(y, 12, 8, 1, 1, 0, 1, true)})
			if keepIO {
				y = b.Node("Cast", []string{y}, graph.IntAttr("to", int64(graph.Float32)))
			}
			b.Output(y)
			if !keepIO {
				b.G.Outputs[0].DType = graph.Float16
			}
			for name, w := range b.G.Initializers {
				h := make([]uint16, w.Len())
				for i, v := range w.F32() {
					h[i] = graph.Float32ToFloat16(v)
				}
				b.G.Initializers[name] = &graph.Tensor{DType: graph.Float16, Shape: w.Shape, Data: h}
			}
			m := b.Model()
			in := randInput(rand.New(rand.NewSource(2)), []int{1, 6, 10, 9}, -2, 2)
			if !keepIO {
				in = narrowHalf(in, graph.Float16)
			}
			feed := map[string]*graph.Tensor{"x": in}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(feed)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				for name, init := range s.Model().Graph.Initializers {
					require.NotEqual(t, graph.Float16, init.DType, name)
				}
				for _, n := range s.Model().Graph.Nodes {
					// Only the float16 output's boundary Cast.
					require.False(t, n.OpType == "Cast" && n.AttrInt("to", 0) == int64(graph.Float16) && n.Outputs[0] != y,
						"a Cast to float16 left: %s", n.Name)
				}
				got, err := s.RunTensors(feed)
				require.NoError(t, err)
				g, w := got[y], want[y]
				require.Equal(t, w.DType, g.DType)
				require.Equal(t, w.Shape, g.Shape)
				gv, _ := g.AsFloat64()
				wv, _ := w.AsFloat64()
				scale := 0.0
				for _, v := range wv {
					scale = max(scale, math.Abs(v))
				}
				for i := range wv {
					require.InDelta(t, wv[i], gv[i], 4e-3*scale, "%s[%d]", y, i)
				}
			}
			// Tapped: the model's own types.
			tapped, err := NewSession(m, WithMode(ModeFloat), WithTaps(y))
			require.NoError(t, err)
			f16 := 0
			for _, init := range tapped.Model().Graph.Initializers {
				if init.DType == graph.Float16 {
					f16++
				}
			}
			require.Positive(t, f16)
		})
	}
}

// An Erf GELU in a float16 model holds float16 constants (√2 as 1.4140625, or
// 1/√2 as 0.70703125, as onnxconverter-common converts it): it is fused like the
// float32 spelling (no Erf step left; sbert_fp16_op14 of --unseen12 ran its Erf
// alone before) and stays within float16 rounding of the model run as written.
func TestFloat16GeluFused(t *testing.T) {
	for _, div := range []bool{true, false} {
		b := newMB(14)
		b.Input("x", graph.Dim{Size: 4}, graph.Dim{Size: 16})
		half := func(v float32) string {
			return b.Init("c", &graph.Tensor{DType: graph.Float16, Shape: []int{}, Data: []uint16{graph.Float32ToFloat16(v)}})
		}
		x := b.Node("Cast", []string{"x"}, graph.IntAttr("to", int64(graph.Float16)))
		w := b.RandInit("w", []int{16, 24}, 0.5)
		h := b.Node("MatMul", []string{x, w})
		var sc string
		if div {
			sc = b.Node("Div", []string{h, half(float32(math.Sqrt2))})
		} else {
			sc = b.Node("Mul", []string{h, half(float32(1 / math.Sqrt2))})
		}
		g := b.Node("Mul", []string{b.Node("Mul", []string{h, b.Node("Add", []string{b.Node("Erf", []string{sc}), half(1)})}), half(0.5)})
		y := b.Node("Cast", []string{g}, graph.IntAttr("to", int64(graph.Float32)))
		b.Output(y)
		for name, init := range b.G.Initializers {
			if init.DType == graph.Float32 {
				hv := make([]uint16, init.Len())
				for i, v := range init.F32() {
					hv[i] = graph.Float32ToFloat16(v)
				}
				b.G.Initializers[name] = &graph.Tensor{DType: graph.Float16, Shape: init.Shape, Data: hv}
			}
		}
		m := b.Model()
		feed := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(3)), []int{4, 16}, -2, 2)}
		ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
		require.NoError(t, err)
		want, err := ref.RunTensors(feed)
		require.NoError(t, err)
		s, err := NewSession(m, WithMode(ModeFloat))
		require.NoError(t, err)
		for _, st := range s.steps {
			require.NotEqual(t, "Erf", st.node.OpType, "div=%v: the GELU is fused", div)
		}
		got, err := s.RunTensors(feed)
		require.NoError(t, err)
		for i, v := range want[y].F32() {
			require.InDelta(t, v, got[y].F32()[i], 2e-3*math.Max(1, math.Abs(float64(v))), "div=%v element %d", div, i)
		}
	}
}
