package quantizer

import "github.com/warboy-sim/warboy/graph"

// shapeValues returns the tensors computed from tensor shapes alone: the outputs of
// Shape and Size, and of every node whose inputs are all such tensors or constants.
// With symbolic input dimensions these subgraphs survive constant folding; exporters
// turn them into float arithmetic (torch.onnx's interpolate by a scale factor: Shape ->
// Gather -> Cast(float) -> Mul(2) -> Cast(int64) -> Resize sizes). Quantizing that
// float would round sizes to 8 bits, calibrated at one input size: at another size the
// Resize would produce the wrong shape. They are never quantized.
func shapeValues(g *graph.Graph) map[string]bool {
	shape := map[string]bool{}
	for _, n := range g.Nodes {
		derived := false
		switch {
		case n.Domain == "" && (n.OpType == "Shape" || n.OpType == "Size"):
			derived = true
		case len(n.Inputs) > 0:
			derived = true
			fromShape := false
			for _, in := range n.Inputs {
				if in == "" || g.Initializers[in] != nil {
					continue
				}
				if !shape[in] {
					derived = false
					break
				}
				fromShape = true
			}
			derived = derived && fromShape
		}
		if derived {
			for _, o := range n.Outputs {
				if o != "" {
					shape[o] = true
				}
			}
		}
	}
	return shape
}
