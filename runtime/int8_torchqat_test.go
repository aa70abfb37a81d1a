package runtime

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// torchQATGraph is what torch.onnx writes for a PyTorch eager-mode QAT model exported
// before convert (fused ConvBnReLU2d, AvgPool2d and an unfused ReLU between two
// quantized layers): Q/DQ of float weights, Conv → Div → BatchNormalization → Relu → Q,
// then AveragePool and Relu with no fake quantization after them, feeding a Conv and a
// Gemm. perTensor makes the first convolution's weight scale per tensor; poolQ puts a
// fake quantization on the pool's output (on its input's parameters, as PyTorch's
// convert quantizes an average).
func torchQATGraph(perTensor, poolQ bool) *graph.Model {
	b := newMB(3)
	x := b.Input("x", graph.Dim{Size: -1, Param: "N"}, graph.Dim{Size: 2}, graph.Dim{Size: 6}, graph.Dim{Size: 6})
	qdq := func(v string, s float32, zp int8) string {
		sc, z := b.Init("s", graph.ScalarFloat32(s)), b.Init("z", graph.FromInt8(nil, []int8{zp}))
		return b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{v, sc, z}), sc, z})
	}
	fqWeight := func(shape []int, a float32, scales []float32) string {
		w := b.RandInit("w", shape, a)
		sc := b.Init("ws", graph.FromFloat32([]int{len(scales)}, scales))
		z := b.Init("wz", graph.FromInt8([]int{len(scales)}, make([]int8, len(scales))))
		if len(scales) == 1 {
			sc = b.Init("ws", graph.ScalarFloat32(scales[0]))
			z = b.Init("wz", graph.FromInt8(nil, []int8{0}))
		}
		ax := graph.IntAttr("axis", 0)
		return b.Node("DequantizeLinear", []string{b.Node("QuantizeLinear", []string{w, sc, z}, ax), sc, z}, ax)
	}
	conv := func(in, w string, k int, bias string) string {
		ins := []string{in, w}
		if bias != "" {
			ins = append(ins, bias)
		}
		return b.Node("Conv", ins, graph.IntsAttr("kernel_shape", []int{k, k}), graph.IntsAttr("pads", []int{k / 2, k / 2, k / 2, k / 2}))
	}
	d0 := qdq(x, 2.0/255, 0)
	s1 := []float32{0.004, 0.003, 0.005, 0.002}
	if perTensor {
		s1 = []float32{0.005}
	}
	c1 := conv(d0, fqWeight([]int{4, 2, 3, 3}, 0.5, s1), 3, b.Init("zb", graph.FromFloat32([]int{4}, make([]float32, 4))))
	f := b.Init("f", graph.FromFloat32([]int{4, 1, 1}, []float32{1.5, 0.8, 1.1, 2}))
	bn := b.Node("BatchNormalization", []string{b.Node("Div", []string{c1, f}),
		b.Init("g", graph.FromFloat32([]int{4}, []float32{1.5, 0.8, 1.1, 2})), b.Init("be", graph.FromFloat32([]int{4}, []float32{0.1, -0.2, 0.3, 0})),
		b.Init("m", graph.FromFloat32([]int{4}, []float32{0.05, -0.1, 0, 0.2})), b.Init("v", graph.FromFloat32([]int{4}, []float32{1, 1, 1, 1}))},
		graph.FloatAttr("epsilon", 1e-5))
	d1 := qdq(b.Node("Relu", []string{bn}), 4.0/255, -128)
	ap := b.Node("AveragePool", []string{d1}, graph.IntsAttr("kernel_shape", []int{2, 2}), graph.IntsAttr("strides", []int{2, 2}))
	if poolQ {
		ap = qdq(ap, 4.0/255, -128)
	}
	c2 := conv(ap, fqWeight([]int{4, 4, 1, 1}, 0.8, []float32{0.006, 0.007, 0.005, 0.006}), 1, b.RandInit("b", []int{4}, 0.2))
	r2 := b.Node("Relu", []string{qdq(c2, 6.0/255, 0)})
	fl := b.Node("Flatten", []string{r2})
	g := b.Node("Gemm", []string{fl, fqWeight([]int{3, 36}, 0.3, []float32{0.002, 0.0025, 0.003}), b.RandInit("fcb", []int{3}, 0.2)}, graph.IntAttr("transB", 1))
	b.Output(qdq(g, 8.0/255, 0))
	return b.Model()
}

// TestTorchQATExportRunsInt8: the fused Conv-BN scaling folds into the int8 weights'
// scales (graph.FoldDQWeightAffine), and a Relu without fake quantization after it keeps
// its input's quantization (max(q, zp) is exact), so the layers it feeds run on int8
// kernels. An average pool without fake quantization after it stays float32 and so does
// the Conv reading it: the file computes that Conv on the exact average, and rounding it
// to the pool input's grid (the fifteenth session's rule) put a PyTorch QAT export
// (qat_fakequant_op13, global pool into the classifier) 28 dB from ONNX Runtime. The
// result is the QDQ graph's float semantics within one output step almost everywhere.
func TestTorchQATExportRunsInt8(t *testing.T) {
	cases := []struct {
		name             string
		perTensor, poolQ bool
		qconv            int
		float            []string // operators that must run in float32
	}{
		{"per-channel, pool quantized", false, true, 2, nil},
		{"per-tensor, pool quantized", true, true, 2, nil},
		{"per-channel, pool not quantized", false, false, 1, []string{"AveragePool", "Conv"}},
		{"per-tensor, pool not quantized", true, false, 1, []string{"AveragePool", "Conv"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := torchQATGraph(tc.perTensor, tc.poolQ)
			x := randInput(rand.New(rand.NewSource(1)), []int{8, 2, 6, 6}, -1, 1)
			ref, err := NewSession(m, WithMode(ModeFloat), WithThreads(1))
			require.NoError(t, err)
			want, err := ref.RunTensors(map[string]*graph.Tensor{"x": x})
			require.NoError(t, err)
			s, err := NewSession(m, WithMode(ModeInt8), WithThreads(1))
			require.NoError(t, err)
			ops := map[string]int{}
			var float []string
			for _, p := range s.Placement {
				if p.Int8 {
					ops[p.OpType]++
				} else if p.OpType != "QuantizeLinear" && p.OpType != "DequantizeLinear" {
					float = append(float, p.OpType)
				}
			}
			require.ElementsMatch(t, tc.float, float)
			require.Equal(t, tc.qconv, ops["QConv"])
			require.Equal(t, 1, ops["QGemm"])
			got, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
			require.NoError(t, err)
			out := m.Graph.Outputs[0].Name
			within1, maxSteps := outputSteps(t, want[out], got[out], 8.0/255)
			t.Logf("%.1f %% within one output step, at most %.0f steps", 100*within1, maxSteps)
			require.GreaterOrEqual(t, within1, 0.95)
			require.LessOrEqual(t, maxSteps, 3.0)
		})
	}
}

// TestTorchQATPoolOnInputGrid: with graph.QuantizePoolsOnInputGrid (the CLI's
// --pool-qparams input, PyTorch's convert rule) the unquantized average pool of the
// export takes its input's scale and zero point, so it and the Conv reading it run int8,
// and the rewritten model computes exactly what the same export with an explicit fake
// quantization on those parameters after the pool computes, on both executors.
func TestTorchQATPoolOnInputGrid(t *testing.T) {
	for _, perTensor := range []bool{false, true} {
		t.Run(map[bool]string{false: "per-channel", true: "per-tensor"}[perTensor], func(t *testing.T) {
			file := torchQATGraph(perTensor, false)
			var warned []string
			_, err := NewSession(file, WithMode(ModeInt8), WithWarnings(func(s string) { warned = append(warned, s) }))
			require.NoError(t, err)
			require.Contains(t, strings.Join(warned, "\n"), "AveragePool", "the file's pool runs float32")
			require.Contains(t, strings.Join(warned, "\n"), "--pool-qparams input", "the warning names the option")
			m, pools := graph.QuantizePoolsOnInputGrid(file)
			require.Len(t, pools, 1)
			explicit := torchQATGraph(perTensor, true)
			x := randInput(rand.New(rand.NewSource(2)), []int{8, 2, 6, 6}, -1, 1)
			for _, mode := range []Mode{ModeInt8, ModeFloat} {
				s, err := NewSession(m, WithMode(mode), WithThreads(1))
				require.NoError(t, err)
				if mode == ModeInt8 {
					qconv := 0
					for _, p := range s.Placement {
						require.True(t, p.Int8, "%s (%s) runs in float32", p.Node, p.OpType)
						if p.OpType == "QConv" {
							qconv++
						}
					}
					require.Equal(t, 2, qconv)
				}
				ref, err := NewSession(explicit, WithMode(mode), WithThreads(1))
				require.NoError(t, err)
				got, err := s.RunTensors(map[string]*graph.Tensor{"x": x})
				require.NoError(t, err)
				want, err := ref.RunTensors(map[string]*graph.Tensor{"x": x})
				require.NoError(t, err)
				out := m.Graph.Outputs[0].Name
				require.Equal(t, want[explicit.Graph.Outputs[0].Name].F32(), got[out].F32(), "mode %v", mode)
			}
		})
	}
}
