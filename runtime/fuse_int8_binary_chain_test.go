package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestInt8BinaryChains runs chains of QDQ elementwise Mul/Add/Sub on a
// channels-last map (ConvNeXt V2's GRN tail γ·(x·N) + β + x, with N
// computed from the map; a chain of two maps) against
// the same int8 session with every tensor tapped (nothing fused), at 1 and 2
// threads, on random sizes, scales and zero points (property test: the
// fused step equals the steps bit for bit), counts the QBinary steps left,
// and checks that the fused step's fallback (the steps one by one) gives
// its output.
func TestInt8BinaryChains(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *mb, x string, c int, sc func() float32, zp func() int8) string
		left  int // QBinary steps left
	}{
		{name: "GRN tail", left: 0, build: func(b *mb, x string, c int, sc func() float32, zp func() int8) string {
			// N: a per-channel vector computed from the map.
			n := b.qdqNode(b.Node("ReduceMax", []string{x}, graph.IntsAttr("axes", []int{1, 2})), sc(), zp())
			y := b.qdqNode(b.Node("Mul", []string{x, n}), sc(), zp())
			y = b.qdqNode(b.Node("Mul", []string{b.qdqNode(b.RandInit("g", []int{1, 1, 1, c}, 1), sc(), zp()), y}), sc(), zp())
			y = b.qdqNode(b.Node("Add", []string{y, b.qdqNode(b.RandInit("b", []int{1, 1, 1, c}, 1), sc(), zp())}), sc(), zp())
			return b.qdqNode(b.Node("Add", []string{y, x}), sc(), zp())
		}},
		{name: "two maps", left: 0, build: func(b *mb, x string, c int, sc func() float32, zp func() int8) string {
			x2 := b.qdqNode(b.Node("Sigmoid", []string{x}), sc(), zp())
			y := b.qdqNode(b.Node("Sub", []string{x2, x}), sc(), zp())
			y = b.qdqNode(b.Node("Mul", []string{y, x}), sc(), zp())
			return b.qdqNode(b.Node("Add", []string{x2, y}), sc(), zp())
		}},
		{name: "one step", left: 1, build: func(b *mb, x string, c int, sc func() float32, zp func() int8) string {
			return b.qdqNode(b.Node("Mul", []string{x, b.qdqNode(b.RandInit("g", []int{1, 1, 1, c}, 1), sc(), zp())}), sc(), zp())
		}},
	}
	for _, tc := range cases {
		for seed := int64(0); seed < 4; seed++ {
			rng := rand.New(rand.NewSource(seed + 60))
			h, w, c := 1+rng.Intn(9), 1+rng.Intn(9), 1+rng.Intn(70)
			if seed == 3 {
				h, w, c = 32, 32, 64 // the blocks spread over the threads
			}
			sc := func() float32 { return (0.5 + rng.Float32()) * 3 / 127 }
			zp := func() int8 { return int8(rng.Intn(41) - 20) }
			t.Run(fmt.Sprintf("%s/%d", tc.name, seed), func(t *testing.T) {
				b := newMB(20 + seed)
				b.Input("x", staticDims(1, h, w, c)...)
				x := b.qdqNode("x", sc(), zp())
				b.Output(b.Node("Relu", []string{tc.build(b, x, c, sc, zp)}))
				m := b.Model()
				in := map[string]*graph.Tensor{"x": randInput(rng, []int{1, h, w, c}, -2, 2)}
				ref, err := NewSession(m, WithMode(ModeInt8), WithAllTaps(), WithThreads(1))
				require.NoError(t, err)
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				for _, th := range []int{1, 2} {
					s, err := NewSession(m, WithMode(ModeInt8), WithThreads(th))
					require.NoError(t, err)
					left := 0
					var fused []step
					for _, st := range s.steps {
						switch st.kernel.(type) {
						case *qbinaryKernel:
							left++
						case *binaryChainKernel:
							fused = append(fused, st)
						}
					}
					require.Equal(t, tc.left, left, "QBinary steps left")
					got, err := s.RunTensors(in)
					require.NoError(t, err)
					for _, o := range m.Graph.Outputs {
						require.Equal(t, want[o.Name].Shape, got[o.Name].Shape, "%s, %d threads", o.Name, th)
						require.Equal(t, want[o.Name].Data, got[o.Name].Data, "%s, %d threads", o.Name, th)
					}
					for _, st := range fused {
						k := st.kernel.(*binaryChainKernel)
						args := make([]*graph.Tensor, len(st.in))
						for a, id := range st.in {
							if args[a] = s.consts[id]; args[a] == nil {
								args[a] = want[s.nameOf(id)]
							}
							require.NotNil(t, args[a], "input %s", s.nameOf(id))
						}
						ctx := &ExecContext{Threads: th}
						f, err := k.Run(ctx, args)
						require.NoError(t, err)
						u, err := k.sub.run(ctx, args)
						require.NoError(t, err)
						require.Equal(t, u[0].Data, f[0].Data)
						require.Equal(t, want[s.nameOf(st.out[0])].Data, f[0].Data)
					}
				}
			})
		}
	}
}
