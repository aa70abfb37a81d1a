package quantizer

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
)

// maskMagnitude is the size from which a constant is a masking value rather than
// data: torch's float("-inf") and Hugging Face's torch.finfo(float32).min (-3.4e38).
const maskMagnitude = 1e30

// maskValues returns the tensors that carry an additive attention mask: computed,
// through elementwise and data-movement operators (and Trilu, which cuts the causal
// triangle), from a constant holding an infinity or a masking magnitude (Where(mask,
// -inf, 0), (1 - mask) * finfo.min, Trilu(ConstantOfShape(-inf)), scores + mask). Quantizing one would put a range of 1e38 (or -inf) on 8 bits: every
// value would round to the same level and the masked positions would stop being
// masked. They stay float32; the Softmax after them normalises the scores again.
func maskValues(g *graph.Graph) map[string]bool {
	mask := map[string]bool{}
	for name, t := range g.Initializers {
		if isMaskConst(t) {
			mask[name] = true
		}
	}
	for _, n := range g.Nodes {
		if n.Domain != "" {
			continue
		}
		if n.OpType == "Constant" || n.OpType == "ConstantOfShape" {
			// ConstantOfShape(-inf) is how torch.onnx writes torch.full((t, t),
			// -inf) when t is symbolic: the mask is made at run time, at the input's
			// length (nn.Transformer.generate_square_subsequent_mask).
			if t := n.AttrTensor("value"); t != nil && isMaskConst(t) {
				mask[n.Outputs[0]] = true
			}
			continue
		}
		if !maskCarriers[n.OpType] {
			continue
		}
		carries := false
		for _, in := range n.Inputs {
			if mask[in] {
				carries = true
			}
		}
		if carries {
			for _, o := range n.Outputs {
				if o != "" {
					mask[o] = true
				}
			}
		}
	}
	return mask
}

// maskCarriers pass a mask value through to their output.
var maskCarriers = map[string]bool{
	"Where": true, "Add": true, "Sub": true, "Mul": true, "Div": true, "Neg": true, "Cast": true,
	"Expand": true, "Unsqueeze": true, "Squeeze": true, "Reshape": true, "Transpose": true,
	"Concat": true, "Tile": true, "Slice": true, "Gather": true, "Identity": true,
	"Min": true, "Max": true, "Flatten": true, "Trilu": true,
}

func isMaskConst(t *graph.Tensor) bool {
	if t == nil || !t.DType.IsFloat() {
		return false
	}
	v, err := t.AsFloat64()
	if err != nil {
		return false
	}
	for _, x := range v {
		if math.IsInf(x, 0) || math.Abs(x) >= maskMagnitude {
			return true
		}
	}
	return false
}

// dropInfinities returns d without its infinite values (d itself when it has none).
func dropInfinities(d []float32) []float32 {
	inf := false
	for _, v := range d {
		if math.IsInf(float64(v), 0) {
			inf = true
			break
		}
	}
	if !inf {
		return d
	}
	out := make([]float32, 0, len(d))
	for _, v := range d {
		if !math.IsInf(float64(v), 0) {
			out = append(out, v)
		}
	}
	return out
}
