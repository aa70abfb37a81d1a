package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// postsOf are the activation epilogues of a fused step (none for other steps).
func postsOf(k Kernel) []kernels.Act {
	var a kernels.Act
	switch k := k.(type) {
	case *fusedConvKernel:
		a = k.post
	case *rowsConvKernel:
		a = k.post
	case *tapRowsKernel:
		a = k.rows.post
	case *dwRowsKernel:
		a = k.ep.Act
	case *groupedRowsKernel:
		a = k.post
	case *groupNormKernel:
		a = k.post
	case *actKernel:
		a = k.act
	case *dwPointwiseKernel:
		return append(postsOf(k.dw), postsOf(k.pw)...)
	}
	if a == kernels.ActNone {
		return nil
	}
	return []kernels.Act{a}
}

// tMish is Mish as torch.onnx writes it below opset 18.
func tMish(b *mb, x string) string {
	return b.Node("Mul", []string{x, b.Node("Tanh", []string{b.Node("Softplus", []string{x})})})
}

// TestFusedSmoothActivations builds the acts_op17 family of activations
// (twelfth session) after dense, depthwise and 1x1 convolutions and after a
// non-convolution: Mish (Softplus, Tanh, Mul), Softplus, Softsign, Elu and
// Celu with α = 1, Selu with its defaults become convolution epilogues (or,
// Mish after an Add, one actKernel; so do Softsign as Div(x, Add(Abs(x), 1))
// and LogSigmoid as Log(Sigmoid(x))); Elu with α = 0.7 and Celu with α = 0.5
// too, with α in the Act (thirteenth session; they stayed steps before); those
// after a depthwise convolution in NCHW stay steps (no depthwise epilogue
// there). Outputs match the graph run operator by
// operator with nothing fused, channels-last and NCHW, at 1 and 2 threads.
func TestFusedSmoothActivations(t *testing.T) {
	defer func(v bool) { channelsLastMode = v }(channelsLastMode)
	for _, cl := range []bool{true, false} {
		t.Run(fmt.Sprintf("channels-last %v", cl), func(t *testing.T) {
			channelsLastMode = cl
			b := newMB(5)
			b.Input("x", graph.Dim{Size: 1}, graph.Dim{Size: 3}, graph.Dim{Size: 14}, graph.Dim{Size: 13})
			y := tMish(b, tConv(b, "x", 3, 16, 3, 1, 1))
			y = b.Node("Elu", []string{tConv(b, y, 16, 16, 3, 1, 16)}, tAttrF("alpha", 1))
			y = b.Node("Selu", []string{tConv(b, y, 16, 24, 1, 1, 1)})
			y = b.Node("Softplus", []string{tConv(b, y, 24, 24, 3, 2, 1)})
			y = b.Node("Celu", []string{tConv(b, y, 24, 24, 3, 1, 24)})
			z := b.Node("Softsign", []string{tConv(b, y, 24, 24, 1, 1, 1)})
			y = tMish(b, b.Node("Add", []string{y, z}))
			// torch.onnx's Softsign and LogSigmoid.
			one := b.Init("one", graph.ScalarFloat32(1))
			y = b.Node("Div", []string{y, b.Node("Add", []string{b.Node("Abs", []string{y}), one})})
			y = b.Node("Log", []string{b.Node("Sigmoid", []string{y})})
			y = b.Node("Elu", []string{tConv(b, y, 24, 16, 1, 1, 1)}, tAttrF("alpha", 0.7))
			y = b.Node("Celu", []string{tConv(b, y, 16, 16, 3, 1, 1)}, tAttrF("alpha", 0.5))
			b.Output(y)
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(6)), []int{1, 3, 14, 13}, -3, 3)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(th))
				require.NoError(t, err)
				posts := map[kernels.Act]int{}
				left := map[string]int{}
				for _, st := range s.steps {
					for _, a := range postsOf(st.kernel) {
						posts[a]++
					}
					if _, fused := st.kernel.(*actKernel); fused {
						continue // the last node of a fused chain names the step
					}
					switch st.node.OpType {
					case "Softplus", "Tanh", "Softsign", "Elu", "Selu", "Celu", "Abs", "Sigmoid", "Log":
						left[st.node.OpType]++
					}
				}
				celu, ok := kernels.CeluAct(0.5)
				require.True(t, ok)
				wantPosts := map[kernels.Act]int{kernels.ActMish: 2, kernels.ActELU: 2, kernels.ActSELU: 1,
					kernels.ActSoftplus: 1, kernels.ActSoftsign: 2, kernels.ActLogSigmoid: 1,
					kernels.EluAct(0.7): 1, celu: 1} // α ≠ 1: the Act carries α (thirteenth session)
				wantLeft := map[string]int{}
				if !cl {
					delete(wantPosts, kernels.ActELU)
					wantLeft = map[string]int{"Elu": 1, "Celu": 1} // after the depthwise convolutions
				}
				require.Equal(t, wantPosts, posts)
				require.Equal(t, wantLeft, left)
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				o := s.Outputs()[0].Name
				require.NoError(t, CompareTensors(got[o], want[o], gemmTol))
			}
		})
	}
}
