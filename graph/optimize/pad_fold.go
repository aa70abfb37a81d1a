package optimize

// torch.onnx writes F.avg_pool2d(x, k, padding=p) (count_include_pad, the
// default) as a zero Pad followed by an AveragePool without pads, and
// exporters write "same"-style padding of convolutions (TF, Keras, paddle) the
// same way. The Pad is a full copy of the activation into a bigger tensor, and
// it cuts the channels-last chains; the consumer's own pads compute the same
// thing. Inception-v3 has nine such pairs.

import (
	"github.com/warboy-sim/warboy/graph"
)

// foldPads merges a constant-mode zero Pad of the spatial axes only into the one
// Conv or AveragePool that reads it. An AveragePool takes it only if its own
// pads count as zeros too (count_include_pad=1, or no pads of its own, in which
// case it gets count_include_pad=1) and ceil_mode is off (the windows a ceil
// extends past the end are clipped differently by runtimes). Consumers with
// auto_pad SAME_UPPER or SAME_LOWER keep their Pad (VALID is no padding). It returns the number of Pads folded; the Pad
// nodes themselves are left for removeDead.
func foldPads(g *graph.Graph, keep map[string]bool) int {
	cons := g.Consumers()
	count := 0
	for _, n := range g.Nodes {
		if !isOp(n, "Pad") || len(n.Outputs) != 1 || len(n.Inputs) == 0 || n.Inputs[0] == "" {
			continue
		}
		y := n.Outputs[0]
		if keep[y] || g.IsGraphOutput(y) || len(cons[y]) != 1 {
			continue
		}
		c := cons[y][0]
		if (!isOp(c, "Conv") && !isOp(c, "AveragePool")) || len(c.Inputs) == 0 || c.Inputs[0] != y || c.HasSubgraphs() {
			continue
		}
		for _, in := range c.Inputs[1:] {
			if in == y {
				c = nil // the padded tensor is also a weight or bias
				break
			}
		}
		if c == nil {
			continue
		}
		pads, ok := zeroPadAmounts(g, n)
		if !ok {
			continue
		}
		merged, ok := mergePads(c, pads)
		if !ok {
			continue
		}
		c.SetAttrInts("pads", merged)
		delete(c.Attrs, "auto_pad") // NOTSET or VALID: the pads say it all now
		if isOp(c, "AveragePool") {
			c.SetAttrInt("count_include_pad", 1)
		}
		c.Inputs[0] = n.Inputs[0]
		count++
	}
	return count
}

// zeroPadAmounts returns the pads of a constant-mode Pad whose value is zero and
// which pads no batch or channel entry ([x1_begin, x2_begin, ..., x1_end, ...]
// over all axes, as ONNX writes them), or false.
func zeroPadAmounts(g *graph.Graph, n *graph.Node) ([]int64, bool) {
	if n.AttrString("mode", "constant") != "constant" {
		return nil, false
	}
	var pads []int64
	if n.HasAttr("pads") { // opset < 11: pads and value are attributes
		pads = n.AttrInts("pads", nil)
		if n.AttrFloat("value", 0) != 0 || len(n.Inputs) != 1 {
			return nil, false
		}
	} else {
		if len(n.Inputs) < 2 || len(n.Inputs) > 3 {
			return nil, false // no pads, or the axes input of opset 18
		}
		t := g.Initializers[n.Inputs[1]]
		if t == nil || t.DType != graph.Int64 {
			return nil, false
		}
		pads = t.I64()
		if len(n.Inputs) == 3 && n.Inputs[2] != "" {
			v := g.Initializers[n.Inputs[2]]
			if v == nil || !allZero(v) {
				return nil, false
			}
		}
	}
	r := len(pads) / 2
	if r < 3 || len(pads) != 2*r {
		return nil, false
	}
	for i, p := range pads {
		if p < 0 || (i%r < 2 && p != 0) {
			return nil, false
		}
	}
	return pads, true
}

// mergePads adds the spatial part of a Pad's pads to the consumer's own pads.
func mergePads(c *graph.Node, pads []int64) ([]int64, bool) {
	r := len(pads) / 2
	sp := r - 2
	a := c.AttrString("auto_pad", "NOTSET")
	if a != "NOTSET" && a != "" && a != "VALID" {
		return nil, false
	}
	own := c.AttrInts("pads", nil)
	if a == "VALID" {
		own = nil // VALID: no padding (tf2onnx's explicit Pad + VALID Conv)
	}
	if own == nil {
		own = make([]int64, 2*sp)
	}
	if len(own) != 2*sp {
		return nil, false
	}
	if isOp(c, "AveragePool") {
		if c.AttrInt("ceil_mode", 0) != 0 {
			return nil, false
		}
		if c.AttrInt("count_include_pad", 0) == 0 {
			for _, p := range own {
				if p != 0 {
					return nil, false
				}
			}
		}
	}
	merged := make([]int64, 2*sp)
	for i := 0; i < sp; i++ {
		merged[i] = own[i] + pads[2+i]
		merged[sp+i] = own[sp+i] + pads[r+2+i]
	}
	if isOp(c, "AveragePool") {
		// ONNX Runtime rejects pooling pads as wide as the window; keep the
		// folded model one it would run.
		k := c.AttrInts("kernel_shape", nil)
		if len(k) != sp {
			return nil, false
		}
		for i := 0; i < sp; i++ {
			if merged[i] >= k[i] || merged[sp+i] >= k[i] {
				return nil, false
			}
		}
	}
	return merged, true
}

// allZero reports whether every element of a numeric tensor is zero.
func allZero(t *graph.Tensor) bool {
	switch d := t.Data.(type) {
	case []float32:
		for _, v := range d {
			if v != 0 {
				return false
			}
		}
	case []float64:
		for _, v := range d {
			if v != 0 {
				return false
			}
		}
	default:
		return false // a float Conv or AveragePool reads float data only
	}
	return true
}
