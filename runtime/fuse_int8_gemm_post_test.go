package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestInt8GemmEpilogues runs QDQ projections followed by an activation the
// int8 lowering makes a QLUT, a residual Add and a Dequantize into a float
// output,
// against the same int8 session with every tensor tapped (nothing folded),
// at 1 and 2 threads, on random sizes, scales and zero points (property
// test: the folded step equals the steps bit for bit), and counts the
// QLUT, QBinary and Dequantize steps left.
func TestInt8GemmEpilogues(t *testing.T) {
	cases := []struct {
		name string
		act  string // "" for none
		// keep: the first projection's output is also a graph output
		// (nothing folded into it)
		keep bool
		// res: the second projection's output added to the input (a
		// residual block, "x"), to a third projection computed before it
		// ("before") or to a QLUT computed after it ("after": not folded)
		res              string
		luts, deqs, bins int // steps left
	}{
		{name: "sigmoid", act: "Sigmoid"},
		{name: "tanh", act: "Tanh"},
		{name: "no activation"},
		{name: "kept output", act: "Sigmoid", keep: true, luts: 1, deqs: 1},
		{name: "residual", act: "Tanh", res: "x"},
		{name: "residual computed before", act: "Sigmoid", res: "before"},
		{name: "residual computed after", act: "Sigmoid", res: "after", luts: 1, deqs: 1, bins: 1},
	}
	for _, tc := range cases {
		for seed := int64(0); seed < 4; seed++ {
			rng := rand.New(rand.NewSource(seed + 40))
			t0, c, hid := 1+rng.Intn(8), 1+rng.Intn(40), 1+rng.Intn(90)
			if seed == 3 {
				t0, c, hid = 300, 64, 256
			}
			sc := func() float32 { return (0.5 + rng.Float32()) * 3 / 127 }
			zp := func() int8 { return int8(rng.Intn(41) - 20) }
			t.Run(fmt.Sprintf("%s/%d", tc.name, seed), func(t *testing.T) {
				b := newMB(90 + seed)
				b.Input("x", staticDims(1, t0, c)...)
				x := b.qdqNode("x", sc(), zp())
				h := b.qdqNode(b.Node("MatMul", []string{x, b.weightDQ(c, hid)}), sc(), zp())
				if tc.keep {
					b.Output(h)
				}
				if tc.act != "" {
					h = b.qdqNode(b.Node(tc.act, []string{h}), sc(), zp())
				}
				out := 5
				if tc.res != "" {
					out = c
				}
				var early string
				if tc.res == "before" {
					early = b.qdqNode(b.Node("MatMul", []string{x, b.weightDQ(c, c)}), sc(), zp())
				}
				y := b.qdqNode(b.Node("MatMul", []string{h, b.weightDQ(hid, out)}), sc(), zp())
				switch tc.res {
				case "x":
					y = b.Node("Add", []string{x, y})
				case "before":
					y = b.Node("Add", []string{y, early})
				case "after":
					late := b.qdqNode(b.Node("Sigmoid", []string{x}), sc(), zp()) // a QLUT step after the projection
					y = b.Node("Add", []string{y, late})
				}
				s, z := b.Init("s", graph.FromFloat32(nil, []float32{sc()})), b.Init("z", graph.FromInt8(nil, []int8{zp()}))
				b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: b.Name("DQ"), OpType: "DequantizeLinear",
					Inputs: []string{b.Node("QuantizeLinear", []string{y, s, z}), s, z}, Outputs: []string{"y"}})
				b.Output("y")
				m := b.Model()
				in := map[string]*graph.Tensor{"x": randInput(rng, []int{1, t0, c}, -2, 2)}
				ref, err := NewSession(m, WithMode(ModeInt8), WithAllTaps(), WithThreads(1))
				require.NoError(t, err)
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				for _, th := range []int{1, 2} {
					s, err := NewSession(m, WithMode(ModeInt8), WithThreads(th))
					require.NoError(t, err)
					luts, deqs, bins := 0, 0, 0
					for _, st := range s.steps {
						switch st.kernel.(type) {
						case *lutKernel:
							luts++
						case *dequantizeKernel:
							deqs++
						case *qbinaryKernel:
							bins++
						}
					}
					require.Equal(t, tc.luts, luts, "QLUT steps")
					require.Equal(t, tc.deqs, deqs, "Dequantize steps")
					require.Equal(t, tc.bins, bins, "QBinary steps")
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range m.Graph.Outputs {
						require.Equal(t, want[o.Name].Shape, got[o.Name].Shape, "%s, %d threads", o.Name, th)
						require.Equal(t, want[o.Name].Data, got[o.Name].Data, "%s, %d threads", o.Name, th)
					}
				}
			})
		}
	}
}
