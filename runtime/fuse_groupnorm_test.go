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

// TestNHWCGroupNormKernelVsReference runs the channels-last group
// normalisation on random maps (channel counts on and off the 16-lane
// blocks and the padded pixel strides, values far from zero for the
// variance's cancellation, SiLU after or a clamp) against a float64
// reference of its definition, at one and two threads.
func TestNHWCGroupNormKernelVsReference(t *testing.T) {
	tests := []struct {
		name           string
		n, c, groups   int
		h, w           int
		offset, spread float32
		post           kernels.Act
		lo, hi         float32
	}{
		{"ddpm 32 channels, 8 groups, silu", 2, 32, 8, 8, 9, 0, 2, kernels.ActSiLU, float32(math.Inf(-1)), float32(math.Inf(1))},
		{"96 channels, large offset", 1, 96, 8, 5, 7, 100, 1, kernels.ActNone, float32(math.Inf(-1)), float32(math.Inf(1))},
		{"24 channels padded, relu6 clamp", 2, 24, 6, 4, 4, -3, 4, kernels.ActNone, 0, 6},
		{"instance norm 20 channels", 1, 20, 20, 3, 300, 0.5, 1, kernels.ActSiLU, float32(math.Inf(-1)), float32(math.Inf(1))},
		{"one pixel", 2, 16, 4, 1, 1, 0, 1, kernels.ActNone, float32(math.Inf(-1)), float32(math.Inf(1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(5))
			rnd := func(n int, lo, hi float32) []float32 {
				v := make([]float32, n)
				for i := range v {
					v[i] = lo + r.Float32()*(hi-lo)
				}
				return v
			}
			gk := &groupNormKernel{c: tc.c, groups: tc.groups, eps: 1e-5, s: rnd(tc.groups, 0.5, 1.5), t: rnd(tc.groups, -0.5, 0.5),
				gamma: rnd(tc.c, 0.5, 1.5), beta: rnd(tc.c, -0.5, 0.5), lo: tc.lo, hi: tc.hi, post: tc.post}
			st, size, cpg := pixelStride(tc.c), tc.h*tc.w, tc.c/tc.groups
			x := make([]float32, tc.n*size*st)
			for p := 0; p < tc.n*size; p++ {
				copy(x[p*st:], rnd(tc.c, tc.offset-tc.spread, tc.offset+tc.spread))
			}
			want := make([]float64, len(x))
			for img := 0; img < tc.n; img++ {
				for g := 0; g < tc.groups; g++ {
					var s, q float64
					at := func(p, j int) float64 { return float64(x[(img*size+p)*st+g*cpg+j]) }
					for p := 0; p < size; p++ {
						for j := 0; j < cpg; j++ {
							s += at(p, j)
						}
					}
					mean := s / float64(size*cpg)
					for p := 0; p < size; p++ {
						for j := 0; j < cpg; j++ {
							q += (at(p, j) - mean) * (at(p, j) - mean)
						}
					}
					inv := 1 / math.Sqrt(q/float64(size*cpg)+1e-5)
					for p := 0; p < size; p++ {
						for j := 0; j < cpg; j++ {
							ch := g*cpg + j
							v := ((at(p, j)-mean)*inv*float64(gk.s[g])+float64(gk.t[g]))*float64(gk.gamma[ch]) + float64(gk.beta[ch])
							v = math.Min(math.Max(v, float64(tc.lo)), float64(tc.hi))
							if tc.post == kernels.ActSiLU {
								v /= 1 + math.Exp(-v)
							}
							want[(img*size+p)*st+ch] = v
						}
					}
				}
			}
			for _, threads := range []int{1, 2} {
				xt := &graph.Tensor{DType: graph.Float32, Shape: []int{tc.n, tc.h, tc.w, st}, Data: x}
				out, err := (&nhwcGroupNormKernel{gk}).Run(&ExecContext{Threads: threads}, []*graph.Tensor{xt})
				require.NoError(t, err)
				got := out[0].F32()
				require.Len(t, got, len(want))
				for i, v := range want {
					// a·x + b with b ≈ −a·mean: the output's rounding scales
					// with the offset of the inputs.
					tol := 2e-5 * math.Max(math.Max(1, math.Abs(v)), 2*math.Abs(float64(tc.offset)))
					require.InDelta(t, v, float64(got[i]), tol, "threads %d element %d", threads, i)
				}
			}
		})
	}
}
