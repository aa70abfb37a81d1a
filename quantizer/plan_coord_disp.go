package quantizer

import "github.com/warboy-sim/warboy/graph"

// Displacement fields (twenty-first session). A registration or optical-flow
// network samples at grid = base + flow: a constant base grid (the identity
// sampling positions) plus the displacement a convolution regresses
// (voxelmorph_grid5d_op20 of --unseen14). The sampling grid spans the whole
// image and stays float32 (plan_coord.go), but the displacement spans its own,
// much smaller, range: quantized on 8 bits over it, a sample moves by at most
// half a step of the displacement's range (voxelmorph's flow, ±0.11 of the
// half-width: 0.004 of a voxel), not of the image's. The flow's convolution
// was float32 by the grid rule and was the int8 session's slowest step.
//
// So the walk back from a grid stops at an Add of a constant: the constant is
// the base, carried in float32 by the Add; the other operand is a
// displacement, quantized as any activation (its producer runs int8).

// displacementBase reports whether n adds a constant to a computed tensor (an
// Add with exactly one float32 initializer operand).
func displacementBase(g *graph.Graph, n *graph.Node) bool {
	if n.OpType != "Add" || len(n.Inputs) != 2 {
		return false
	}
	consts := 0
	for _, in := range n.Inputs {
		if t := g.Initializers[in]; t != nil && t.DType == graph.Float32 {
			consts++
		}
	}
	return consts == 1
}
