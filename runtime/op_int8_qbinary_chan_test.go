package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// TestQBinaryChannelConstant checks QBinary with a constant of one value per
// channel (the per-channel tables of op_int8_qbinary_chan.go) against
// expanding the constant and looking every pair up in the operator's table,
// with the constant on either side, 1 and 2 threads; shapes the tables do not
// take (channels-last, two runs of channels) go through the general path and
// must agree too.
func TestQBinaryChannelConstant(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cases := []struct {
		act, cst []int
		tables   bool // built with per-channel tables
		used     bool // and run on them
	}{
		{[]int{1, 32, 9, 11}, []int{32, 1, 1}, true, true},
		{[]int{2, 5, 7, 3}, []int{1, 5, 1, 1}, true, true},
		{[]int{1, 24, 100}, []int{24, 1}, true, true},
		{[]int{1, 6, 4, 70}, []int{6, 4, 1}, true, true},  // a run of two dimensions
		{[]int{1, 9, 9, 40}, []int{40}, true, false},      // channels-last: the repeating block path
		{[]int{1, 8, 5, 5}, []int{8, 1, 5}, false, false}, // two runs
		{[]int{1, 8, 5, 5}, []int{1, 1, 1}, false, false}, // scalar
	}
	for _, op := range []string{"Add", "Sub", "Mul", "Max", "Min", "Div"} {
		for _, tc := range cases {
			for _, constFirst := range []bool{false, true} {
				cst := make([]int8, graph.NumElements(tc.cst))
				for i := range cst {
					cst[i] = int8(r.IntN(256) - 128)
				}
				act := make([]int8, graph.NumElements(tc.act))
				for i := range act {
					act[i] = int8(r.IntN(256) - 128)
				}
				n := &graph.Node{Name: "q", OpType: "QBinary", Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
				for _, a := range []*graph.Attr{graph.StringAttr("op", op),
					graph.FloatAttr("a_scale", 0.05), graph.IntAttr("a_zp", 3),
					graph.FloatAttr("b_scale", 0.02), graph.IntAttr("b_zp", -7),
					graph.FloatAttr("y_scale", 0.04), graph.IntAttr("y_zp", 1)} {
					n.Attrs[a.Name] = a
				}
				consts := []*graph.Tensor{nil, graph.FromInt8(tc.cst, cst)}
				in := []*graph.Tensor{graph.FromInt8(tc.act, act), graph.FromInt8(tc.cst, cst)}
				if constFirst {
					consts[0], consts[1] = consts[1], consts[0]
					in[0], in[1] = in[1], in[0]
				}
				kern, err := buildQBinary(&BuildContext{Node: n, Consts: consts})
				require.NoError(t, err)
				k := kern.(*qbinaryKernel)
				require.Equal(t, tc.tables, k.chans != nil, "%v %v", tc.act, tc.cst)
				out, err := graph.BroadcastInts(in[0].Shape, in[1].Shape)
				require.NoError(t, err)
				ea := qtensor.BytesAsI8(expandBytes(qtensor.I8AsBytes(in[0].I8()), in[0].Shape, out))
				eb := qtensor.BytesAsI8(expandBytes(qtensor.I8AsBytes(in[1].I8()), in[1].Shape, out))
				want := make([]int8, len(ea))
				for i := range want {
					want[i] = k.pairs[uint16(uint8(ea[i]))<<8|uint16(uint8(eb[i]))]
				}
				if k.chans != nil {
					_, used, err := k.chans.run(&ExecContext{Threads: 1}, in)
					require.NoError(t, err)
					require.Equal(t, tc.used, used, "%v %v", tc.act, tc.cst)
				}
				for _, threads := range []int{1, 2} {
					res, err := k.Run(&ExecContext{Threads: threads}, in)
					require.NoError(t, err)
					require.Equal(t, out, res[0].Shape)
					require.Equal(t, want, res[0].Data, "%s %v %v const first %v threads %d", op, tc.act, tc.cst, constFirst, threads)
				}
			}
		}
	}
}
