package quantizer

import (
	"github.com/warboy-sim/warboy/graph"
)

// coordValues returns the tensors that hold sampling locations: GridSample's grid and,
// backwards from it, what it is computed from through data movement and elementwise
// arithmetic (a base grid plus a flow field, a Concat of x and y, a Tanh bounding
// them), up to the output of the operator that computes them (the MatMul applying a
// spatial transformer's affine matrix, the Conv regressing a flow). A location is a
// fraction of the image: on 8 bits over [-1, 1] every sample would move by up to
// 1/255 of the width (2.5 pixels at 640), so they stay float32 (a spatial transformer
// of --unseen6: the sampled image 22.8 dB from float32 with its grid quantized).
func coordValues(g *graph.Graph) map[string]bool {
	prod := g.Producers()
	coord := map[string]bool{}
	var walk func(t string)
	walk = func(t string) {
		if t == "" || coord[t] || g.Initializers[t] != nil {
			return
		}
		if v := g.Values[t]; v != nil && v.DType != graph.Float32 {
			return // a Reshape's shape, a Gather's indices
		}
		coord[t] = true
		n := prod[t]
		if n == nil || n.Domain != "" || !coordCarriers[n.OpType] || displacementBase(g, n) {
			return // displacementBase: plan_coord_disp.go
		}
		for _, in := range n.Inputs {
			walk(in)
		}
	}
	for _, n := range g.Nodes {
		if n.Domain == "" && n.OpType == "GridSample" {
			walk(n.Input(1))
		}
	}
	return coord
}

// coordCarriers compute a location from locations (and constants).
var coordCarriers = map[string]bool{
	"Reshape": true, "Transpose": true, "Unsqueeze": true, "Squeeze": true, "Flatten": true, "Slice": true,
	"Concat": true, "Expand": true, "Identity": true, "Split": true, "Gather": true, "Tile": true,
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Neg": true, "Clip": true, "Min": true, "Max": true,
	"Tanh": true, "Sigmoid": true,
}
