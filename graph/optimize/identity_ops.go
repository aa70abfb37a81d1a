package optimize

// Operators that are the identity for the constant inputs exporters give them.

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

// padsNothing reports whether a Pad's pads are constant zeros (any mode): Swin's
// F.pad to a multiple of the window size, which pads nothing at 224x224, once
// the shape arithmetic that computes the pads is folded.
func padsNothing(g *graph.Graph, n *graph.Node) bool {
	if len(n.Outputs) != 1 {
		return false
	}
	pads := n.AttrInts("pads", nil)
	if !n.HasAttr("pads") {
		if len(n.Inputs) < 2 || len(n.Inputs) > 3 {
			return false
		}
		t := g.Initializers[n.Inputs[1]]
		if t == nil || t.DType != graph.Int64 {
			return false
		}
		pads = t.I64()
	}
	for _, p := range pads {
		if p != 0 {
			return false
		}
	}
	return len(pads) > 0
}

// castKeepsType reports whether a Cast converts to the type its input already has:
// torch.onnx writes a PyTorch-quantized model's activations as QuantizeLinear ->
// Cast(to=uint8) -> DequantizeLinear, a no-op Cast that splits the quantize/
// dequantize pair the int8 executors run as one int8 tensor.
func castKeepsType(g *graph.Graph, n *graph.Node) bool {
	v := g.Values[n.Inputs[0]]
	if v == nil || v.DType == graph.Undefined || !n.HasAttr("to") {
		return false
	}
	return v.DType == graph.DType(n.AttrInt("to", 0))
}
