package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestFuseInt8LSTMCellBitExact writes LSTM cells out as the quantizers do
// (a QuantizeLinear → DequantizeLinear on every intermediate: the Add of
// the two products, the four Split blocks, the activations, the Muls, c'
// and h'), two cells in sequence (the second reads the first's c'), with
// any gate order, the operands of every Mul and Add either way round, an
// equal or explicit split, random scales and zero points, and runs them
// against the same int8 session with every tensor tapped (which fuses
// nothing), at 1 and 2 threads: property test, the fused step must equal
// the unfused steps bit for bit. A cell whose c' is read before the cell's
// last step (here: a graph output computed from it is fine, an intermediate
// read elsewhere is not) and a cell with a tapped gate are not fused.
func TestFuseInt8LSTMCellBitExact(t *testing.T) {
	for _, tc := range []struct {
		order      string
		swap       bool
		splitSizes bool
		gAct       string
		batch, h   int
		extraRead  bool // the i gate is also a graph output: nothing fuses
		fused      int
	}{
		{"ifgo", false, false, "Tanh", 1, 48, false, 2},
		{"ifgo", true, true, "Tanh", 2, 48, false, 2},
		{"iogf", false, true, "Tanh", 3, 20, false, 2},
		{"gfoi", true, false, "HardSigmoid", 5, 7, false, 2},
		{"ifgo", false, false, "Tanh", 2, 16, true, 1},
	} {
		for seed := int64(0); seed < 3; seed++ {
			name := fmt.Sprintf("%s swap=%v sizes=%v %s b%d h%d extra=%v/%d", tc.order, tc.swap, tc.splitSizes, tc.gAct, tc.batch, tc.h, tc.extraRead, seed)
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewSource(seed + 40))
				sc := func(spread float32) float32 { return spread * (0.5 + rng.Float32()) / 127 }
				zp := func() int8 { return int8(rng.Intn(41) - 20) }
				b := newMB(11 + seed)
				b.Opsets[""] = 13
				in := map[string]*graph.Tensor{}
				add := func(name string, shape ...int) string {
					b.Input(name, staticDims(shape...)...)
					in[name] = randInput(rng, shape, -3, 3)
					return name
				}
				c := b.qdqNode(add("c0", tc.batch, tc.h), sc(3), zp())
				bin := func(op, x, y string) string {
					if tc.swap {
						x, y = y, x
					}
					return b.qdqNode(b.Node(op, []string{x, y}), sc(3), zp())
				}
				var outs []string
				for cell := 0; cell < 2; cell++ {
					pa := b.qdqNode(add(fmt.Sprint("a", cell), tc.batch, 4*tc.h), sc(3), zp())
					pb := b.qdqNode(add(fmt.Sprint("b", cell), tc.batch, 4*tc.h), sc(3), zp())
					pre := b.qdqNode(b.Node("Add", []string{pa, pb}), sc(5), zp())
					split := make([]string, 4)
					for i := range split {
						split[i] = b.Name("split_out")
					}
					ins := []string{pre}
					if tc.splitSizes {
						ins = append(ins, b.Init("sizes", graph.FromInt64([]int{4}, []int64{int64(tc.h), int64(tc.h), int64(tc.h), int64(tc.h)})))
					}
					b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: b.Name("Split"), OpType: "Split", Inputs: ins, Outputs: split,
						Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", 1)}})
					act := map[byte]string{}
					for i, r := range []byte(tc.order) {
						op := "Sigmoid"
						if r == 'g' {
							op = tc.gAct
						}
						act[r] = b.qdqNode(b.Node(op, []string{b.qdqNode(split[i], sc(5), zp())}), 1.0/255, -128)
					}
					c = bin("Add", bin("Mul", act['f'], c), bin("Mul", act['i'], act['g']))
					outs = append(outs, bin("Mul", act['o'], b.qdqNode(b.Node("Tanh", []string{c}), 1.0/127, 0)))
					if tc.extraRead && cell == 1 {
						outs = append(outs, act['i'])
					}
				}
				b.Output(append(outs, c)...)
				m := b.Model()
				ref, err := NewSession(m, WithMode(ModeInt8), WithAllTaps(), WithThreads(1))
				require.NoError(t, err)
				require.Zero(t, countKernels[*qlstmCellKernel](ref))
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				for _, th := range []int{1, 2} {
					s, err := NewSession(m, WithMode(ModeInt8), WithThreads(th))
					require.NoError(t, err)
					if n := countKernels[*qlstmCellKernel](s); n != tc.fused {
						for _, st := range s.steps {
							t.Logf("%s %T %v %v", st.node.OpType, st.kernel, st.in, st.out)
						}
						require.Equal(t, tc.fused, n, "fused int8 cells")
					}
					for run := 0; run < 2; run++ {
						got, err := s.RunTensors(in)
						require.NoError(t, err)
						for _, o := range m.Graph.Outputs {
							require.Equal(t, want[o.Name].Data, got[o.Name].Data, "%s, %d threads", o.Name, th)
						}
					}
				}
			})
		}
	}
}

// TestFuseInt8LSTMCellOtherShapes feeds the fused step a c that broadcasts
// ([1, H] against a batch of 3): it runs the absorbed steps one by one, as
// the unfused session does.
func TestFuseInt8LSTMCellOtherShapes(t *testing.T) {
	const batch, h = 3, 8
	b := newMB(5)
	b.Opsets[""] = 13
	rng := rand.New(rand.NewSource(6))
	in := map[string]*graph.Tensor{}
	add := func(name string, shape ...int) string {
		b.Input(name, staticDims(shape...)...)
		in[name] = randInput(rng, shape, -3, 3)
		return name
	}
	c := b.qdqNode(add("c0", 1, h), 0.03, 3)
	pre := b.qdqNode(b.Node("Add", []string{b.qdqNode(add("a", batch, 4*h), 0.03, 1), b.qdqNode(add("b", batch, 4*h), 0.02, -4)}), 0.05, 2)
	split := []string{b.Name("s"), b.Name("s"), b.Name("s"), b.Name("s")}
	b.G.Nodes = append(b.G.Nodes, &graph.Node{Name: b.Name("Split"), OpType: "Split", Inputs: []string{pre}, Outputs: split,
		Attrs: map[string]*graph.Attr{"axis": graph.IntAttr("axis", -1)}})
	var g [4]string
	for i, op := range []string{"Sigmoid", "Sigmoid", "Tanh", "Sigmoid"} {
		g[i] = b.qdqNode(b.Node(op, []string{b.qdqNode(split[i], 0.05, 0)}), 1.0/255, -128)
	}
	cn := b.qdqNode(b.Node("Add", []string{b.qdqNode(b.Node("Mul", []string{g[1], c}), 0.02, 0),
		b.qdqNode(b.Node("Mul", []string{g[0], g[2]}), 0.01, 0)}), 0.03, 1)
	hn := b.qdqNode(b.Node("Mul", []string{g[3], b.qdqNode(b.Node("Tanh", []string{cn}), 1.0/127, 0)}), 1.0/127, 0)
	b.Output(hn, cn)
	m := b.Model()
	ref, err := NewSession(m, WithMode(ModeInt8), WithAllTaps())
	require.NoError(t, err)
	want, err := ref.RunTensors(in)
	require.NoError(t, err)
	s, err := NewSession(m, WithMode(ModeInt8))
	require.NoError(t, err)
	got, err := s.RunTensors(in)
	require.NoError(t, err)
	for _, o := range m.Graph.Outputs {
		require.Equal(t, want[o.Name].Data, got[o.Name].Data, o.Name)
	}
	t.Logf("fused cells: %d (the shapes decide at run time)", countKernels[*qlstmCellKernel](s))
}
