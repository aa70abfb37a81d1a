package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/testmodels"
)

// FindRegions is the one definition of the regions the quantizer keeps Q/DQ out of and
// the simulator times as one operator.
func TestFindRegions(t *testing.T) {
	scalar := func(b *testmodels.Builder, v float32) string {
		return b.Init("s", graph.FromFloat32([]int{}, []float32{v}))
	}
	tests := []struct {
		name  string
		build func(b *testmodels.Builder) string
		opts  func(g *graph.Graph) graph.RegionOptions
		want  []graph.RegionKind
		sizes []int
	}{
		{"SiLU, Relu and a HardSwish chain are one function of x", func(b *testmodels.Builder) string {
			y := b.Node("Mul", []string{"x", b.Node("Sigmoid", []string{"x"})})
			y = b.Node("Relu", []string{y})
			c := b.Node("Clip", []string{b.Node("Add", []string{y, scalar(b, 3)}), scalar(b, 0), scalar(b, 6)})
			return b.Node("Div", []string{b.Node("Mul", []string{y, c}), scalar(b, 6)})
		}, nil, []graph.RegionKind{graph.RegionLUT}, []int{7}},
		{"written-out LayerNorm", func(b *testmodels.Builder) string {
			axes := graph.IntsAttr("axes", []int{-1})
			m := b.Node("ReduceMean", []string{"x"}, axes)
			d := b.Node("Sub", []string{"x", m})
			v := b.Node("ReduceMean", []string{b.Node("Pow", []string{d, scalar(b, 2)})}, axes)
			s := b.Node("Sqrt", []string{b.Node("Add", []string{v, scalar(b, 1e-5)})})
			return b.Node("Div", []string{d, s})
		}, nil, []graph.RegionKind{graph.RegionLayerNorm}, []int{7}},
		{"a non-scalar constant broadcasts: no region", func(b *testmodels.Builder) string {
			w := b.Init("w", graph.NewTensor(graph.Float32, []int{4, 8}))
			return b.Node("Tanh", []string{b.Node("Mul", []string{"x", w})})
		}, nil, nil, nil},
		{"an inner value read outside: no region", func(b *testmodels.Builder) string {
			s := b.Node("Sigmoid", []string{"x"})
			return b.Node("Add", []string{b.Node("Mul", []string{"x", s}), b.Node("Floor", []string{s})})
		}, nil, nil, nil},
		{"SiLU", func(b *testmodels.Builder) string {
			return b.Node("Mul", []string{"x", b.Node("Sigmoid", []string{"x"})})
		}, nil, []graph.RegionKind{graph.RegionLUT}, []int{2}},
		{"skipped node", func(b *testmodels.Builder) string {
			return b.Node("Mul", []string{"x", b.Node("Sigmoid", []string{"x"})})
		}, func(g *graph.Graph) graph.RegionOptions {
			return graph.RegionOptions{Skip: func(n *graph.Node) bool { return n.OpType == "Sigmoid" }}
		}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := testmodels.New(0)
			b.Input("x", graph.ShapeOf(1, 4, 8)...)
			b.Output(tc.build(b))
			g := b.G
			ctx := &graph.PatternContext{
				Prod: g.Producers(), Cons: g.Consumers(), IsOutput: g.IsGraphOutput, Opset: 13,
				Const: func(name string) *graph.Tensor { return g.Initializers[name] },
				Rank: func(name string) int {
					if g.Initializers[name] != nil {
						return len(g.Initializers[name].Shape)
					}
					return 3 // every activation of these graphs
				},
			}
			var o graph.RegionOptions
			if tc.opts != nil {
				o = tc.opts(g)
			}
			o.IsFloat = func(name string) bool { return g.Initializers[name] == nil }
			rs := graph.FindRegions(g, ctx, o)
			var kinds []graph.RegionKind
			var sizes []int
			for _, r := range rs {
				kinds = append(kinds, r.Kind)
				sizes = append(sizes, len(r.Nodes))
				require.Equal(t, r.Nodes[len(r.Nodes)-1].Outputs[0], r.Out)
			}
			require.Equal(t, tc.want, kinds)
			require.Equal(t, tc.sizes, sizes)
		})
	}
	require.True(t, graph.UnaryElementwise("HardSigmoid"))
	require.False(t, graph.UnaryElementwise("Div"))
	require.False(t, graph.UnaryElementwise("Floor"))
}
