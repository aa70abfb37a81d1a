package quantizer

import (
	"math"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/kernels"
)

// maskMagnitude is the size from which a constant is a masking value rather than
// data: torch's float("-inf") and Hugging Face's torch.finfo(float32).min (-3.4e38).
const maskMagnitude = 1e30

// fillMagnitude is the size from which a constant is a masking value when what it
// reaches is a Softmax: the finite fills of masked_fill(mask, -1e4) (code written
// for float16, older BERTs' (1 - mask) * -10000.0), -1e9 (the Annotated
// Transformer) and the like. exp() of a score that far below the others is 0 in
// float32 as it is for -inf, so the fill masks; quantized with the scores, it sets
// the range and every real score rounds to a few levels (einsum_where of --unseen6:
// the Softmax 3.8 dB from float32). A constant this large that reaches no Softmax
// through the carriers below is data and is quantized as before.
const fillMagnitude = 1e4

// maskValues returns the tensors that carry an additive attention mask: computed,
// through elementwise and data-movement operators (and Trilu, which cuts the causal
// triangle), from a constant holding an infinity or a masking magnitude (Where(mask,
// -inf, 0), (1 - mask) * finfo.min, Trilu(ConstantOfShape(-inf)), scores + mask), or
// from a finite fill (fillMagnitude) on its way to a Softmax (Where(band, scores,
// -1e4)). Quantizing one would put a range of 1e38 (or -inf) on 8 bits: every
// value would round to the same level and the masked positions would stop being
// masked. They stay float32; the Softmax after them normalises the scores again.
func maskValues(g *graph.Graph) map[string]bool {
	mask := carried(g, maskMagnitude)
	// Finite fills count where the values they carry reach a Softmax.
	fill := carried(g, fillMagnitude)
	reach := map[string]bool{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		if n.Domain != "" {
			continue
		}
		into := false
		switch {
		case n.OpType == "Softmax" || n.OpType == "LogSoftmax":
			into = true
		case maskCarriers[n.OpType]:
			for _, o := range n.Outputs {
				into = into || reach[o]
			}
		}
		if into {
			for _, in := range n.Inputs {
				if fill[in] {
					reach[in] = true
				}
			}
		}
	}
	for name := range reach {
		mask[name] = true
	}
	return mask
}

// nanGuarded returns the tensors an IsNaN reads: torch.nan_to_num and
// masked-NaN code (Where(IsNaN(x), 0, x)) expect NaN in them, from a Log or Sqrt of
// values out of the domain (--unseen10's postproc_select_op13). They stay float32
// (a NaN has no int8 code, and the Where after the IsNaN replaces it), and their
// calibration statistics are of the finite values, where any other tensor holding a
// NaN is refused (a broken model or input).
func nanGuarded(g *graph.Graph) map[string]bool {
	out := map[string]bool{}
	for _, n := range g.Nodes {
		if n.Domain == "" && n.OpType == "IsNaN" && len(n.Inputs) == 1 {
			out[n.Inputs[0]] = true
		}
	}
	return out
}

// dropNonFinite returns d without its NaNs and infinities (d itself when it has none).
func dropNonFinite(d []float32) []float32 {
	out := make([]float32, 0, len(d))
	for _, v := range d {
		if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			out = append(out, v)
		}
	}
	if len(out) == len(d) {
		return d
	}
	return out
}

// carried returns the tensors computed, through maskCarriers, from a constant holding
// an infinity or a value of at least magnitude in size.
func carried(g *graph.Graph, magnitude float64) map[string]bool {
	mask := map[string]bool{}
	for name, t := range g.Initializers {
		if isMaskConst(t, magnitude) {
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
			if t := n.AttrTensor("value"); t != nil && isMaskConst(t, magnitude) {
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

func isMaskConst(t *graph.Tensor, magnitude float64) bool {
	if t == nil || !t.DType.IsFloat() {
		return false
	}
	// float32 (every weight of a model is asked, twice): the vectorized min and
	// max decide unless a NaN hides them (they are then NaN).
	if d := t.F32(); len(d) > 0 {
		lo, hi := kernels.MinMaxF32(d)
		if lo == lo && hi == hi {
			return math.Max(-float64(lo), float64(hi)) >= magnitude
		}
	}
	v, err := t.AsFloat64()
	if err != nil {
		return false
	}
	for _, x := range v {
		if math.IsInf(x, 0) || math.Abs(x) >= magnitude {
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
