package optimize

import (
	"github.com/warboy-sim/warboy/graph"
)

// zeroDropoutRatio reports whether a Dropout's ratio is a constant zero: torch.onnx
// writes F.dropout(x, p) called without training=False (Swin's attention) as a
// training-mode Dropout, which at p = 0 is the identity.
func zeroDropoutRatio(g *graph.Graph, n *graph.Node) bool {
	r := n.Input(1)
	if r == "" {
		return false // the default ratio is 0.5
	}
	t := g.Initializers[r]
	return t != nil && t.Len() == 1 && allZero(t)
}
