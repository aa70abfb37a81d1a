package runtime

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// The dynamic-int8 chains of ONNX Runtime's quantize_dynamic (DynamicQuantizeLinear →
// MatMulInteger → Cast → Mul by a_scale·b_scale → Add bias → Relu) run as one step,
// with the unfused steps' bits: uint8 weights with per-column zero points and scales,
// int8 weights without zero points and a scalar scale, widths around the vector
// widths, in the float and the int8 executor, at 1 and 2 threads. A chain whose
// intermediate is read elsewhere is not fused.
func TestFuseDynqMatMuls(t *testing.T) {
	type chain struct {
		k, n        int
		u8, zp      bool
		perColScale bool
		bias, relu  bool
	}
	cases := []struct {
		name   string
		x      []int
		chains []chain
		shared bool // the Cast's output is also a graph output
		fused  int
	}{
		{"ffn: uint8 weights, zero points, bias, relu, then int8 weights", []int{2, 7, 19}, []chain{
			{k: 19, n: 21, u8: true, zp: true, perColScale: true, bias: true, relu: true},
			{k: 21, n: 6, bias: true},
		}, false, 2},
		{"one product, scalar scale, no bias", []int{5, 40}, []chain{{k: 40, n: 33, u8: true, zp: true}}, false, 1},
		{"int8 weights with a zero point, relu without bias", []int{3, 16}, []chain{{k: 16, n: 16, zp: true, relu: true}}, false, 1},
		{"intermediate read elsewhere", []int{4, 8}, []chain{{k: 8, n: 5, u8: true, zp: true, bias: true}}, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newMB(7)
			b.Input("x", staticDims(tc.x...)...)
			rng := rand.New(rand.NewSource(11))
			x := "x"
			var extra []string
			for _, c := range tc.chains {
				q, s, z := b.Name("q"), b.Name("s"), b.Name("z")
				b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: b.Name("dql"), OpType: "DynamicQuantizeLinear", Inputs: []string{x},
					Outputs: []string{q, s, z}, Attrs: map[string]*graph.Attr{}})
				var w *graph.Tensor
				if c.u8 {
					d := make([]uint8, c.k*c.n)
					for i := range d {
						d[i] = uint8(rng.Intn(256))
					}
					w = graph.FromUint8([]int{c.k, c.n}, d)
				} else {
					d := make([]int8, c.k*c.n)
					for i := range d {
						d[i] = int8(rng.Intn(255) - 127)
					}
					w = &graph.Tensor{DType: graph.Int8, Shape: []int{c.k, c.n}, Data: d}
				}
				ins := []string{q, b.Init("w", w), z}
				if c.zp {
					if c.u8 {
						d := make([]uint8, c.n)
						for i := range d {
							d[i] = uint8(100 + rng.Intn(56))
						}
						ins = append(ins, b.Init("wz", graph.FromUint8([]int{c.n}, d)))
					} else {
						ins = append(ins, b.Init("wz", &graph.Tensor{DType: graph.Int8, Shape: []int{}, Data: []int8{3}}))
					}
				}
				acc := b.Node("MatMulInteger", ins)
				f := b.Node("Cast", []string{acc}, graph.IntAttr("to", int64(graph.Float32)))
				if tc.shared {
					extra = append(extra, f)
				}
				ws := graph.ScalarFloat32(0.0123)
				if c.perColScale {
					d := make([]float32, c.n)
					for i := range d {
						d[i] = 0.002 + 0.01*rng.Float32()
					}
					ws = graph.FromFloat32([]int{c.n}, d)
				}
				y := b.Node("Mul", []string{f, b.Node("Mul", []string{s, b.Init("ws", ws)})})
				if c.bias {
					y = b.Node("Add", []string{y, b.RandInit("bias", []int{c.n}, 0.5)})
				}
				if c.relu {
					y = b.Node("Relu", []string{y})
				}
				x = y
			}
			b.Output(x)
			b.Output(extra...)
			m := b.Model()
			in := map[string]*graph.Tensor{"x": randInput(rand.New(rand.NewSource(4)), tc.x, -2, 3)}
			for _, mode := range []Mode{ModeFloat, ModeInt8} {
				ref, err := NewSession(m, WithMode(mode), WithAllTaps())
				require.NoError(t, err)
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				for _, th := range []int{1, 2} {
					s, err := NewSession(m, WithMode(mode), WithThreads(th))
					require.NoError(t, err)
					fused := 0
					for _, st := range s.steps {
						if _, ok := st.kernel.(*dynqMatMulKernel); ok {
							fused++
						}
					}
					require.Equal(t, tc.fused, fused, "mode %v", mode)
					for r := 0; r < 2; r++ { // the second run on recycled buffers
						got, err := s.RunTensors(in)
						require.NoError(t, err)
						for _, o := range m.Graph.Outputs {
							require.Equal(t, want[o.Name].F32(), got[o.Name].F32(), "mode %v, %d threads, %s", mode, th, o.Name)
						}
					}
				}
			}
		})
	}
}
