package runtime

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

func tAttrI(name string, v int64) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrInt, I: v}
}

func tAttrF(name string, v float32) *graph.Attr {
	return &graph.Attr{Name: name, Type: graph.AttrFloat, F: v}
}

func tConv(b *mb, x string, cin, cout, k, stride, group int) string {
	w := b.RandInit("w", []int{cout, cin / group, k, k}, float32(1.5/math.Sqrt(float64(cin/group*k*k))))
	p := int64(k / 2)
	return b.Node("Conv", []string{x, w, b.RandInit("b", []int{cout}, 0.2)},
		&graph.Attr{Name: "kernel_shape", Type: graph.AttrInts, Ints: []int64{int64(k), int64(k)}},
		&graph.Attr{Name: "strides", Type: graph.AttrInts, Ints: []int64{int64(stride), int64(stride)}},
		&graph.Attr{Name: "pads", Type: graph.AttrInts, Ints: []int64{p, p, p, p}}, tAttrI("group", int64(group)))
}

// silu is SiLU as torch.onnx writes it at opset 13.
func tSiLU(b *mb, x string) string { return b.Node("Mul", []string{x, b.Node("Sigmoid", []string{x})}) }

// relu6 is Clip(x, 0, 6) with the bounds in Constant nodes (torch.onnx).
func tRelu6(b *mb, x string) string {
	lo := b.Node("Constant", nil, &graph.Attr{Name: "value", Type: graph.AttrTensor, T: graph.ScalarFloat32(0)})
	hi := b.Node("Constant", nil, &graph.Attr{Name: "value", Type: graph.AttrTensor, T: graph.ScalarFloat32(6)})
	return b.Node("Clip", []string{x, lo, hi})
}

// hswish is x·HardSigmoid(x) (torch.onnx's hardswish at opset 13).
func tHSwish(b *mb, x string) string {
	return b.Node("Mul", []string{b.Node("HardSigmoid", []string{x}, tAttrF("alpha", 1.0/6), tAttrF("beta", 0.5)), x})
}

// TestFusedActivationsAndDepthwiseChains builds MobileNetV2, EfficientNet and
// MobileNetV3-style blocks as torch.onnx writes them (SiLU as Sigmoid + Mul,
// ReLU6 as Clip with Constant bounds, hardswish as HardSigmoid + Mul,
// squeeze-excite gates) and checks the optimised, fused, channels-last
// execution against the same graph run operator by operator, NCHW, with
// nothing fused (every tensor tapped): same outputs within GEMM tolerance, the
// depthwise convolutions on their kernel and no Sigmoid/Mul/Clip steps left.
func TestFusedActivationsAndDepthwiseChains(t *testing.T) {
	cases := []struct {
		name       string
		c, h       int
		build      func(b *mb) string
		dw         int // depthwise steps expected
		gates      int // squeeze-excite gates run channels-last
		activation int // steps left that are Sigmoid, HardSigmoid, Clip or a non-gate Mul
	}{
		{name: "mobilenet_v2 block", c: 16, h: 15, dw: 2, build: func(b *mb) string {
			x := tRelu6(b, tConv(b, "x", 16, 96, 1, 1, 1))
			x = tRelu6(b, tConv(b, x, 96, 96, 3, 2, 96))
			x = tConv(b, x, 96, 24, 1, 1, 1)
			y := tRelu6(b, tConv(b, x, 24, 144, 1, 1, 1))
			y = tRelu6(b, tConv(b, y, 144, 144, 3, 1, 144))
			y = tConv(b, y, 144, 24, 1, 1, 1)
			return b.Node("Add", []string{x, y})
		}},
		{name: "efficientnet block with squeeze-excite", c: 8, h: 12, dw: 2, gates: 2, build: func(b *mb) string {
			x := tSiLU(b, tConv(b, "x", 8, 32, 3, 2, 1))
			x = tSiLU(b, tConv(b, x, 32, 32, 3, 1, 32))
			s := b.Node("GlobalAveragePool", []string{x})
			s = tSiLU(b, tConv(b, s, 32, 8, 1, 1, 1))
			s = b.Node("Sigmoid", []string{tConv(b, s, 8, 32, 1, 1, 1)})
			x = b.Node("Mul", []string{x, s})
			x = tConv(b, x, 32, 24, 1, 1, 1)
			y := tSiLU(b, tConv(b, x, 24, 72, 1, 1, 1))
			y = tSiLU(b, tConv(b, y, 72, 72, 5, 1, 72)) // 72 channels: not a multiple of 16
			g := tSiLU(b, tConv(b, b.Node("GlobalAveragePool", []string{y}), 72, 24, 1, 1, 1))
			g = b.Node("Sigmoid", []string{tConv(b, g, 24, 72, 1, 1, 1)})
			y = b.Node("Mul", []string{g, y}) // gate first
			return b.Node("Add", []string{tConv(b, y, 72, 24, 1, 1, 1), x})
		}},
		{name: "mobilenet_v3 hardswish, multiplier 2, NCHW ends", c: 12, h: 11, dw: 2, build: func(b *mb) string {
			x := tHSwish(b, tConv(b, "x", 12, 24, 3, 1, 12)) // depthwise, multiplier 2, NCHW input
			x = b.Node("HardSwish", []string{tConv(b, x, 24, 40, 1, 1, 1)})
			x = tConv(b, x, 40, 40, 3, 2, 40) // depthwise, NCHW output (graph output)
			return x
		}},
	}
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(5)
			b.Input("x", graph.Dim{Size: 2}, graph.Dim{Size: tc.c}, graph.Dim{Size: tc.h}, graph.Dim{Size: tc.h})
			b.Output(tc.build(b))
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(9)), []int{2, tc.c, tc.h, tc.h}, -2, 2)}
			channelsLastMode = false
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			channelsLastMode = true
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				dw, left, gates := 0, 0, 0
				for _, st := range s.steps {
					switch k := st.kernel.(type) {
					case *dwRowsKernel, *dwPointwiseKernel:
						dw++
					case *nhwcGateKernel:
						gates++
					default:
						_ = k
						switch st.node.OpType {
						case "Sigmoid", "HardSigmoid", "HardSwish", "Clip", "Mul":
							left++
						}
					}
				}
				require.Equal(t, tc.dw, dw, "depthwise steps")
				require.Equal(t, 0, left, "unfused activation steps")
				require.Equal(t, tc.gates, gates, "channels-last gates")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for _, o := range s.Outputs() {
					require.NoError(t, CompareTensors(got[o.Name], want[o.Name], gemmTol), fmt.Sprintf("%s, %d threads", o.Name, th))
				}
			}
		})
	}
}

// TestFusedActivationNCHW runs a fused SiLU Conv outside the channels-last
// pass (the NCHW packed path, then the activation).
func TestFusedActivationNCHW(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	channelsLastMode = false
	b := newMB(3)
	b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 4}, graph.Dim{Size: 5}, graph.Dim{Size: 5})
	b.Output(tSiLU(b, tConv(b, "x", 4, 6, 3, 1, 1)))
	m := b.Model()
	in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(4)), []int{1, 4, 5, 5}, -2, 2)}
	ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	s, err := NewSession(m, WithMode(ModeFloat))
	require.NoError(t, err)
	require.Len(t, s.steps, 1)
	require.Equal(t, kernels.ActSiLU, s.steps[0].kernel.(*fusedConvKernel).post)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	o := s.Outputs()[0].Name
	require.NoError(t, CompareTensors(got[o], want[o], gemmTol))
}

// TestFusedTanh runs ESPCN's Conv → Tanh → Conv → Tanh → Conv chain: each
// Tanh becomes the epilogue of the convolution before it (kernels.ActTanh),
// channels-last and NCHW, and the outputs match the unfused operators.
func TestFusedTanh(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for _, cl := range []bool{true, false} {
		t.Run(fmt.Sprintf("channels-last %v", cl), func(t *testing.T) {
			channelsLastMode = cl
			b := newMB(3)
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 3}, graph.Dim{Size: 12}, graph.Dim{Size: 10})
			y := b.Node("Tanh", []string{tConv(b, "x", 3, 16, 5, 1, 1)})
			y = b.Node("Tanh", []string{tConv(b, y, 16, 8, 3, 1, 1)})
			b.Output(tConv(b, y, 8, 12, 3, 1, 1))
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(4)), []int{1, 3, 12, 10}, -2, 2)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				posts := 0
				for _, st := range s.steps {
					require.NotEqual(t, "Tanh", st.node.OpType)
					if k, ok := st.kernel.(*fusedConvKernel); ok && k.post == kernels.ActTanh {
						posts++
					}
					if k, ok := st.kernel.(*rowsConvKernel); ok && k.post == kernels.ActTanh {
						posts++
					}
					if k, ok := st.kernel.(*tapRowsKernel); ok && k.rows.post == kernels.ActTanh {
						posts++
					}
				}
				require.Equal(t, 2, posts, "both Tanh fused")
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				o := s.Outputs()[0].Name
				require.NoError(t, CompareTensors(got[o], want[o], gemmTol))
			}
		})
	}
}
