package runtime

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// groupNorm adds nn.GroupNorm as torch.onnx writes it.
func (b *mb) groupNorm(x string, c, groups int, rank int) string {
	shape := []int64{0, int64(groups), -1}
	bshape := []int{c}
	for i := 2; i < rank; i++ {
		bshape = append(bshape, 1)
	}
	g := b.Node("Reshape", []string{x, b.i64(shape...)})
	g = b.Node("InstanceNormalization", []string{g, b.Init("one", graph.FromFloat32([]int{groups}, filled(groups, 1))),
		b.Init("zero", graph.FromFloat32([]int{groups}, filled(groups, 0)))})
	g = b.Node("Reshape", []string{g, b.Node("Shape", []string{x})})
	g = b.Node("Mul", []string{g, b.RandInit("gs", bshape, 1)})
	return b.Node("Add", []string{g, b.RandInit("gb", bshape, 0.5)})
}

// gelu adds GELU as torch.onnx writes it at opset 13.
func (b *mb) gelu(x string) string {
	e := b.Node("Erf", []string{b.Node("Div", []string{x, b.Init("sq2", graph.ScalarFloat32(float32(math.Sqrt2)))})})
	e = b.Node("Add", []string{e, b.Init("one", graph.ScalarFloat32(1))})
	return b.Node("Mul", []string{b.Node("Mul", []string{x, e}), b.Init("half", graph.ScalarFloat32(0.5))})
}

// TestFusedGroupNorm builds GroupNorm + activation, InstanceNormalization +
// Relu and a lone InstanceNormalization (2-D maps and lifted 1-D signals,
// Conv -> GELU between them) and checks the fused steps against the same
// graph run step by step (every tensor tapped): same outputs within float32
// tolerance, and the expected steps left.
func TestFusedGroupNorm(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape []int
		build func(b *mb, x string) string
		norms int // groupNormKernel steps
		nhwc  int // of which channels-last
		conv  kernels.Act
	}{
		{"groupnorm-silu-2d", []int{1, 16, 6, 7}, func(b *mb, x string) string {
			y := b.groupNorm(tConv(b, x, 16, 32, 3, 1, 1), 32, 4, 4)
			return tSiLU(b, y)
		}, 1, 0, kernels.ActNone},
		{"groupnorm-gelu-1d", []int{2, 16, 50}, func(b *mb, x string) string {
			y := b.gelu(b.conv1d(x, 16, 32, 3, 1, 1, 1, 1))
			y = b.gelu(b.groupNorm(y, 32, 32, 3))
			return b.Node("InstanceNormalization", []string{b.conv1d(y, 32, 8, 1, 1, 0, 1, 1), b.RandInit("s", []int{8}, 1), b.RandInit("t", []int{8}, 1)})
		}, 2, 1, kernels.ActGELU},
		{"groupnorm-silu-nhwc-padded", []int{2, 8, 5, 6}, func(b *mb, x string) string {
			y := tSiLU(b, b.groupNorm(tConv(b, x, 8, 24, 3, 1, 1), 24, 6, 4))
			return tConv(b, y, 24, 8, 3, 1, 1)
		}, 1, 1, kernels.ActNone},
		{"instancenorm-relu", []int{1, 8, 9, 9}, func(b *mb, x string) string {
			y := b.Node("InstanceNormalization", []string{x, b.RandInit("s", []int{8}, 1), b.RandInit("t", []int{8}, 1)}, tAttrF("epsilon", 1e-3))
			return b.Node("Relu", []string{y})
		}, 1, 0, kernels.ActNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(11)
			dims := make([]graph.Dim, len(tc.shape))
			for i, d := range tc.shape {
				dims[i] = graph.Dim{Size: d}
			}
			b.Output(tc.build(b, b.Input("x", dims...)))
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(2)), tc.shape, -2, 3)}
			ref, err := NewSession(m, WithMode(ModeFloat), WithAllTaps())
			require.NoError(t, err)
			want, err := ref.RunTensors(in)
			require.NoError(t, err)
			for _, threads := range []int{1, 2} {
				s, err := NewSession(m, WithMode(ModeFloat), WithThreads(threads))
				require.NoError(t, err)
				norms, nhwc, convActs := 0, 0, map[kernels.Act]bool{}
				for _, st := range s.steps {
					switch k := st.kernel.(type) {
					case *groupNormKernel:
						norms++
					case *nhwcGroupNormKernel:
						norms++
						nhwc++
					case *fusedConvKernel:
						convActs[k.post] = true
					case *rowsConvKernel:
						convActs[k.post] = true
					case *tapRowsKernel:
						convActs[k.rows.post] = true
					}
					require.NotContains(t, []string{"Erf", "Div", "Mul", "Add", "Relu", "Sigmoid", "Shape"}, st.node.OpType, "left unfused")
				}
				require.Equal(t, tc.norms, norms)
				require.Equal(t, tc.nhwc, nhwc, "between convolutions: channels-last")
				if tc.conv != kernels.ActNone {
					require.True(t, convActs[tc.conv], "the Conv's GELU in its store")
				}
				got, err := s.RunTensors(in)
				require.NoError(t, err)
				for k, w := range want {
					if g := got[k]; g != nil {
						requireClose(t, map[string]*graph.Tensor{k: w}, map[string]*graph.Tensor{k: g}, 2e-5)
					}
				}
				require.Len(t, got, 1)
			}
		})
	}
}
