package quantizer

import (
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

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
			// A Loop or If also reads, inside its bodies, values of this graph that are
			// not among its inputs (EmbeddingBag's Loop has only a shape-derived trip
			// count as input; its body gathers the tokens' embeddings): they count too.
			ins := n.Inputs
			for _, sg := range n.Subgraphs() {
				ins = append(append([]string(nil), ins...), sg.OuterReads()...)
			}
			for _, in := range ins {
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

// warnSizeDependent warns about quantized nodes (and nodes of quantized regions)
// that read, as data, a float tensor computed from the input's symbolic shape: the
// grid a YOLO Detect head builds from Shape -> Range and adds to its box centres, a
// position ramp. Its values, and those of the node's output, grow with the input
// size, but their int8 range is the one calibrated at the data's size: at a larger
// input they clip (a YOLOv5 export calibrated at 640x640 and run at 800x800 put
// every box centre beyond x = 636 at 636). The node is still quantized (at the
// calibrated size it is exact enough, and the tail after it is int8 too); the
// warning says what to do.
func (p *plan) warnSizeDependent(inRegion []*graph.Node) {
	// Rows looked up in a constant table by shape-derived indices (position
	// embeddings gathered at Range(seq)) are bounded by the table: not a ramp.
	lookup := map[string]bool{}
	for _, n := range p.g.Nodes {
		in := n.Input(0)
		switch {
		case n.Domain != "" || len(n.Outputs) == 0:
			continue
		case n.OpType == "Gather" && p.isConst(in), layoutOps[n.OpType] && lookup[in]:
			lookup[n.Outputs[0]] = true
		}
	}
	var names []string
	seen := map[string]bool{}
	check := func(n *graph.Node) {
		for _, in := range n.Inputs {
			if in != "" && p.shapeVals[in] && !lookup[in] && !p.isConst(in) && p.isFloat(in) && !seen[n.Name] {
				seen[n.Name] = true
				names = append(names, n.Label())
			}
		}
	}
	for _, n := range p.g.Nodes {
		if p.quantOp[n] {
			check(n)
		}
	}
	for _, n := range inRegion {
		check(n)
	}
	if len(names) == 0 {
		return
	}
	p.warnings = append(p.warnings, fmt.Sprintf("%d int8 node(s) read float values computed from the input's symbolic shape "+
		"(a grid or position ramp that grows with the input size): %s; their int8 ranges are calibrated at the size of the "+
		"calibration data, and an input larger than that clips them: calibrate at the largest size to be run, bind it with "+
		"--input-shape, or --exclude them",
		len(names), strings.Join(names, ", ")))
}

// layoutOps move or retype values without computing new ones.
var layoutOps = map[string]bool{
	"Reshape": true, "Unsqueeze": true, "Squeeze": true, "Transpose": true, "Expand": true, "Slice": true,
	"Identity": true, "Cast": true, "Flatten": true,
}
