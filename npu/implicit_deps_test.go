package npu_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
)

// branch is an If branch (or any subgraph) that reads the outer value from by name
// and returns it through op.
func branch(name, op, from string, shape []int) *graph.Graph {
	out := name + "_out"
	return &graph.Graph{
		Name:         name,
		Initializers: map[string]*graph.Tensor{},
		Nodes:        []*graph.Node{{Name: name + "_n", OpType: op, Inputs: []string{from}, Outputs: []string{out}, Attrs: map[string]*graph.Attr{}}},
		Outputs:      []*graph.Value{{Name: out, DType: graph.Float32, Shape: graph.ShapeOf(shape...), HasShape: true}},
	}
}

// A Loop or If that reads an outer value only through its body depends on that
// value's producer as much as on its declared inputs: in the timeline it starts
// after the producer ends (and after the value came back from the NPU), never at
// the start of the request as when only declared inputs counted.
func TestSubgraphCapturesAreDependencies(t *testing.T) {
	tests := []struct {
		name   string
		thenOp string
		elseOp string
	}{
		{"both branches read the captured value", "Identity", "Neg"},
		{"one branch reads it", "Identity", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newGB(map[string][]int{"x": {1, 16, 32, 32}})
			b.G.Inputs = append(b.G.Inputs, &graph.Value{Name: "c", DType: graph.Bool, HasShape: true})
			h := conv(b, "x", 16, 16, 3, 1, nil)
			h = conv(b, h, 16, 16, 3, 1, nil)
			shape := []int{1, 16, 32, 32}
			thenG := branch("then", tc.thenOp, h, shape)
			elseG := branch("else", "Neg", "x", shape)
			if tc.elseOp != "" {
				elseG = branch("else", tc.elseOp, h, shape)
			}
			y := b.node("If", []string{"c"}, func(n *graph.Node) {
				n.Attrs["then_branch"] = &graph.Attr{Name: "then_branch", Type: graph.AttrGraph, G: thenG}
				n.Attrs["else_branch"] = &graph.Attr{Name: "else_branch", Type: graph.AttrGraph, G: elseG}
			})
			r, err := npu.Simulate(b.model(y), npu.Config{AssumeInt8: true})
			require.NoError(t, err)
			var ifOp, prod *npu.OpReport
			for i := range r.Ops {
				op := &r.Ops[i]
				switch {
				case op.OpType == "If":
					ifOp = op
				case op.OpType == "Conv" && op.Name == h:
					prod = op
				}
			}
			require.NotNil(t, ifOp, "no If step")
			require.NotNil(t, prod, "no step for %s", h)
			assert.Equal(t, npu.EngineHost, ifOp.Engine)
			assert.Equal(t, npu.EngineNPU, prod.Engine, prod.Reason)
			assert.GreaterOrEqual(t, ifOp.StartUS, prod.EndUS, "If starts before the value its branch reads is produced")
			// The captured value crosses back to the host before the If reads it.
			var d2h bool
			for _, op := range r.Ops {
				d2h = d2h || (op.Kind == "PCIe D2H" && op.EndUS <= ifOp.StartUS)
			}
			assert.True(t, d2h, "no PCIe D2H before the If")
		})
	}
}
