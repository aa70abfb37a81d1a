package optimize_test

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/graph/optimize"
	"github.com/warboy-sim/warboy/runtime"
)

// Pad-18 over an axes input becomes full-rank pads, which then fold into the Conv
// like any zero Pad; a reflect Pad stays with its full pads; the outputs do not move.
func TestPadAxesToFullPads(t *testing.T) {
	for _, c := range []struct {
		name   string
		pads   []int64
		axes   []int64
		mode   string
		folded bool
	}{
		{name: "zero pad over H, W folds into the conv", pads: []int64{1, 2, 2, 1}, axes: []int64{2, 3}, folded: true},
		{name: "negative axes, reversed", pads: []int64{2, 1, 1, 2}, axes: []int64{-1, -2}, folded: true},
		{name: "reflect stays a Pad", pads: []int64{1, 1, 0, 2}, axes: []int64{3, 2}, mode: "reflect"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(6))
			conv := node("Conv", []string{"xp", "w", "b"}, []string{"y"}, intsAttr("pads", 1, 0, 1, 0), intsAttr("strides", 1, 2))
			src := padModel(rng, c.pads, func(n *graph.Node) {
				n.Inputs = append(n.Inputs, "", "axes")
				if c.mode != "" {
					n.SetAttrString("mode", c.mode)
				}
			}, conv)
			src.Opsets[""] = 18
			src.Graph.Initializers["axes"] = graph.FromInt64([]int{len(c.axes)}, c.axes)
			in := map[string]*graph.Tensor{"x": randF32(rng, 1, 4, 7, 6)}
			want := run(t, src, in)

			m := cloneGraph(src)
			st, err := optimize.Optimize(m, optimize.Options{Eval: runtime.ConstEval()})
			require.NoError(t, err)
			if c.folded {
				assert.Equal(t, 1, st.Pads, st.String())
				assert.Zero(t, opTypes(m.Graph)["Pad"])
			} else {
				require.Equal(t, 1, opTypes(m.Graph)["Pad"])
				for _, n := range m.Graph.Nodes {
					if n.OpType == "Pad" {
						assert.Len(t, n.Inputs, 2, "the axes input is gone")
						assert.Len(t, m.Graph.Initializers[n.Inputs[1]].I64(), 8)
					}
				}
			}
			got := run(t, m, in)
			require.Equal(t, want["y"].Shape, got["y"].Shape)
			assert.InDeltaSlice(t, want["y"].F32(), got["y"].F32(), 1e-5)
		})
	}
}
