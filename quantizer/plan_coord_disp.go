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

// A base grid holds a position per sampling point: it varies along an axis
// before the last (the coordinates). A constant that varies along the last axis
// only is a bias (torch's Linear writes MatMul + Add of its bias at opset 13 and
// later): a grid regressed by a Linear is an absolute position, and the walk
// goes on through it.

// displacementBase reports whether n adds a constant base grid to a computed
// tensor (an Add with exactly one float32 initializer operand, which varies
// along an axis before its last).
func displacementBase(g *graph.Graph, n *graph.Node) bool {
	if n.OpType != "Add" || len(n.Inputs) != 2 {
		return false
	}
	consts, base := 0, false
	for _, in := range n.Inputs {
		if t := g.Initializers[in]; t != nil && t.DType == graph.Float32 {
			consts++
			for a := 0; a+1 < len(t.Shape); a++ {
				base = base || t.Shape[a] > 1
			}
		}
	}
	return consts == 1 && base
}
