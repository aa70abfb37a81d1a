package qat

import "github.com/warboy-sim/warboy/graph"

// markInfinite records node's outputs as tensors that may hold infinities by
// construction: a max pool's -inf padding (a Pad with an infinite value), an
// attention mask of -inf (masked_fill, a Where or an Add with an infinite
// constant, a ConstantOfShape of -inf), and whatever reads such a tensor. The
// int8 executor saturates an infinity to the end of the grid and calibration
// skips it, so the moving range of their fake quantization takes the finite
// values (fqOp.finiteRange). So does the fake quantization of a division by
// an activation, a reciprocal and a logarithm of one (gridInfinite): every int8
// grid holds an exact zero, and a denominator that the grid rounds to it (ReLU
// linear attention's sum of keys plus an epsilon far below the grid's step)
// gives an infinity that the int8 model computes too and saturates in that
// quantization, so what reads it sees finite values. An infinity anywhere else
// is a diverged step: it reaches the range and the loss, and training stops
// there.
func (b *builder) markInfinite(node *graph.Node) {
	grid := false
	switch node.OpType {
	case "Div":
		grid = b.g.Initializers[node.Input(1)] == nil
	case "Reciprocal", "Log":
		grid = b.g.Initializers[node.Input(0)] == nil
	}
	if grid {
		for _, o := range node.Outputs {
			b.gridInfinite[o] = true
		}
	}
	inf := false
	for _, in := range node.Inputs {
		if b.infinite[in] || hasInfinity(b.g.Initializers[in]) {
			inf = true
		}
	}
	for _, a := range node.Attrs {
		if (a.Type == graph.AttrFloat && isInfOrNaN(a.F)) || (a.Type == graph.AttrTensor && hasInfinity(a.T)) {
			inf = true // Pad's value before opset 11, ConstantOfShape's value
		}
	}
	if !inf {
		return
	}
	for _, o := range node.Outputs {
		if o != "" {
			b.infinite[o] = true
		}
	}
}

// hasInfinity reports whether a float32 constant holds an infinity.
func hasInfinity(t *graph.Tensor) bool {
	if t == nil || t.DType != graph.Float32 {
		return false
	}
	for _, v := range t.F32() {
		if isInfOrNaN(v) && v == v {
			return true
		}
	}
	return false
}
