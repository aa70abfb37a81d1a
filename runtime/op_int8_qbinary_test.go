package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime/qtensor"
)

// TestQBinaryBroadcastBlocks checks QBinary's block-by-block broadcasting (a
// squeeze-excite gate against a channels-last map, a row against a matrix, on
// either side of a non-commutative operator; the planned rows of a cdist, an
// outer product, a value per row) against expanding the operand first
// and looking every pair up in the operator's table, with 1 and 2 threads.
func TestQBinaryBroadcastBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	shapes := [][2][]int{
		{{2, 5, 7, 48}, {2, 1, 1, 48}},   // SE gate, batch 2
		{{1, 13, 11, 16}, {1, 1, 1, 16}}, // 16 channels: repeated into ~1 KiB blocks
		{{1, 3, 1100}, {1100}},           // a period longer than minBlock
		{{1, 9, 9, 40}, {1, 40}},         // lower rank
		{{3, 33}, {33}},
		{{2, 3, 4, 32}, {2, 1, 4, 32}}, // not periodic: expanded
		{{4, 4, 8}, {1}},               // scalar: expanded
		{{6, 20}, {6, 20}},             // no broadcast
		{{5, 1, 56}, {1, 7, 56}},       // cdist: planned rows, both contiguous
		{{6, 1}, {1, 40}},              // outer product: planned rows, one spread
		{{3, 40}, {3, 1}},              // a value per row: planned rows, spread
		{{2, 9, 3}, {2, 1, 3}},         // rows shorter than minPlannedRow: expanded
	}
	for _, op := range []string{"Add", "Sub", "Mul", "Max", "Div"} {
		n := &graph.Node{Name: "q", OpType: "QBinary", Domain: Int8Domain, Attrs: map[string]*graph.Attr{}}
		for _, a := range []*graph.Attr{graph.StringAttr("op", op),
			graph.FloatAttr("a_scale", 0.05), graph.IntAttr("a_zp", 3),
			graph.FloatAttr("b_scale", 0.02), graph.IntAttr("b_zp", -7),
			graph.FloatAttr("y_scale", 0.04), graph.IntAttr("y_zp", 1)} {
			n.Attrs[a.Name] = a
		}
		kern, err := buildQBinary(&BuildContext{Node: n})
		require.NoError(t, err)
		k := kern.(*qbinaryKernel)
		for _, sh := range shapes {
			for _, swap := range []bool{false, true} {
				as, bs := sh[0], sh[1]
				if swap {
					as, bs = bs, as
				}
				a := make([]int8, graph.NumElements(as))
				b := make([]int8, graph.NumElements(bs))
				for i := range a {
					a[i] = int8(r.IntN(256) - 128)
				}
				for i := range b {
					b[i] = int8(r.IntN(256) - 128)
				}
				out, err := graph.BroadcastInts(as, bs)
				require.NoError(t, err)
				ea := qtensor.BytesAsI8(expandBytes(qtensor.I8AsBytes(a), as, out))
				eb := qtensor.BytesAsI8(expandBytes(qtensor.I8AsBytes(b), bs, out))
				want := make([]int8, len(ea))
				for i := range want {
					want[i] = k.pairs[uint16(uint8(ea[i]))<<8|uint16(uint8(eb[i]))]
				}
				for _, threads := range []int{1, 2} {
					res, err := k.Run(&ExecContext{Threads: threads},
						[]*graph.Tensor{graph.FromInt8(as, a), graph.FromInt8(bs, b)})
					require.NoError(t, err)
					require.Equal(t, out, res[0].Shape)
					require.Equal(t, want, res[0].Data, "%s %v %v threads %d", op, as, bs, threads)
				}
			}
		}
	}
}
