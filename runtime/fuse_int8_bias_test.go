package runtime

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// TestFoldInt8BiasAdds runs a projection with its bias Add spelled as
// torch.onnx and the quantizers write it (MatMul by an int8 weight → QDQ →
// Add of a dequantized int8 bias → QDQ) against the same int8 session with
// every tensor tapped, which folds nothing (property test: random sizes,
// scales, zero points and biases, -128 in the bias; the folded step must
// give the unfolded steps' codes bit for bit), at 1 and 2 threads, and counts
// the folded steps. Chains that must not fold keep their QBinary.
func TestFoldInt8BiasAdds(t *testing.T) {
	type dims struct {
		lead []int // the input's leading dimensions
		k, n int
	}
	cases := []struct {
		name      string
		biasShape func(n int) []int
		biasFirst bool
		readMM    bool   // the MatMul's output is also a graph output
		op        string // Add when empty
		folded    int
	}{
		{name: "Add(bias[n], mm)", biasShape: func(n int) []int { return []int{n} }, biasFirst: true, folded: 1},
		{name: "Add(mm, bias[n])", biasShape: func(n int) []int { return []int{n} }, folded: 1},
		{name: "bias [1,1,1,n] of a higher rank", biasShape: func(n int) []int { return []int{1, 1, 1, n} }, biasFirst: true, folded: 1},
		{name: "bias [1,n]", biasShape: func(n int) []int { return []int{1, n} }, folded: 1},
		{name: "Mul(mm, scale[n])", biasShape: func(n int) []int { return []int{n} }, op: "Mul", folded: 1},
		{name: "Sub(bias[n], mm)", biasShape: func(n int) []int { return []int{n} }, biasFirst: true, op: "Sub", folded: 1},
		{name: "Max(mm, floor[n]): the tables", biasShape: func(n int) []int { return []int{n} }, op: "Max", folded: 1},
		{name: "product also an output", biasShape: func(n int) []int { return []int{n} }, readMM: true, folded: 0},
	}
	shapes := []dims{{[]int{16, 2}, 32, 96}, {[]int{2, 16}, 64, 32}, {[]int{5}, 7, 3}, {[]int{1, 3}, 20, 17}, {[]int{2, 4, 3}, 16, 40}}
	for _, tc := range cases {
		for si, dm := range shapes {
			t.Run(fmt.Sprintf("%s/%v", tc.name, dm), func(t *testing.T) {
				rng := rand.New(rand.NewSource(int64(100 + si)))
				zp := func() int8 { return int8(rng.Intn(61) - 30) }
				b := newMB(int64(7 + si))
				xs := append(append([]int(nil), dm.lead...), dm.k)
				b.Input("x", staticDims(xs...)...)
				in := map[string]*graph.Tensor{"x": randInput(rng, xs, -2, 2)}
				wq := make([]int8, dm.k*dm.n)
				for i := range wq {
					wq[i] = int8(rng.Intn(255) - 127)
				}
				ws := b.Init("ws", graph.FromFloat32(nil, []float32{0.02}))
				wz := b.Init("wz", graph.FromInt8(nil, []int8{0}))
				w := b.Node("DequantizeLinear", []string{b.Init("w", graph.FromInt8([]int{dm.k, dm.n}, wq)), ws, wz})
				mm := b.Node("MatMul", []string{b.qdqNode("x", 2.0/127, zp()), w})
				mmq := b.qdqNode(mm, 0.05+rng.Float32()*0.1, zp())
				bshape := tc.biasShape(dm.n)
				bq := make([]int8, dm.n)
				for i := range bq {
					bq[i] = int8(rng.Intn(256) - 128)
				}
				bq[0] = -128
				bs := b.Init("bs", graph.FromFloat32(nil, []float32{0.01 + rng.Float32()*0.05}))
				bz := b.Init("bz", graph.FromInt8(nil, []int8{zp()}))
				bias := b.Node("DequantizeLinear", []string{b.Init("b", graph.FromInt8(bshape, bq)), bs, bz})
				ins := []string{mmq, bias}
				if tc.biasFirst {
					ins = []string{bias, mmq}
				}
				op := tc.op
				if op == "" {
					op = "Add"
				}
				b.Output(b.qdqNode(b.Node(op, ins), 0.05+rng.Float32()*0.1, zp()))
				if tc.readMM {
					b.Output(mmq)
				}
				m := b.Model()
				ref, err := NewSession(m, WithMode(ModeInt8), WithAllTaps(), WithThreads(1))
				require.NoError(t, err)
				want, err := ref.RunTensors(in)
				require.NoError(t, err)
				for _, th := range []int{1, 2} {
					s, err := NewSession(m, WithMode(ModeInt8), WithThreads(th))
					require.NoError(t, err)
					folded, qbin := 0, 0
					for _, st := range s.steps {
						if k, ok := st.kernel.(*qgemmKernel); ok && k.post != nil {
							folded++
							require.Equal(t, tc.op == "Max", k.post.fast == nil, "tables for Max, the vector kernel otherwise")
						}
						if _, ok := st.kernel.(*qbinaryKernel); ok {
							qbin++
						}
					}
					require.Equal(t, tc.folded, folded, "folded bias Adds")
					require.Equal(t, 1-tc.folded, qbin, "QBinary steps left")
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
