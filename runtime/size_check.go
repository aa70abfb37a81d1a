package runtime

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// checkValueSizes refuses a plan in which a node's output, at the shapes inference
// found, would hold more than maxElements elements: a batch or an --input-shape far
// too large for the model is an error naming the node, not an out-of-memory crash
// when the tensor is allocated (a 1x3x30000x30000 input through a 64-channel Conv).
func checkValueSizes(g *graph.Graph) error {
	for _, n := range g.Nodes {
		for _, out := range n.Outputs {
			v := g.Values[out]
			if out == "" || v == nil || !v.HasShape {
				continue
			}
			dims, ok := v.Shape.Concrete()
			if !ok {
				continue
			}
			if err := checkSize(dims, fmt.Sprintf("%s: output %q of shape", n.Label(), out)); err != nil {
				return err
			}
		}
	}
	return nil
}
