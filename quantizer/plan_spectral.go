package quantizer

import (
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// Compressed spectra (twentieth session). A front end that takes the log (or a
// root) of a power spectrum -- DFT or STFT, the sum of squares of the real and
// imaginary parts, a mel filter bank, a floor, then Log -- exists to show the
// quiet bins: a speech spectrum's bins span 60-100 dB, and the Log maps that
// range linearly. Per-tensor int8 holds 48 dB (255 steps of one size): anywhere
// between the transform and the compressor, everything under max/255 becomes
// code 0 and leaves the compressor as the floor. logmel_dft_op17 of --unseen14:
// the LUT region Add(eps) → Log quantized the mel power at its root with a step
// of 3.0 for values from 0.0014 up, the log-mel was -8.4 dB from float32 and the
// logits 7.0 dB. The time signal before the transform carries the same loss: its
// int8 step is white noise spread over every bin at a level that buries the
// quiet ones.
//
// The rule: a value computed from a forward DFT or STFT by the operators of a
// power or magnitude spectrum (spectrumOp) that a compressor reads (Log, Sqrt,
// Pow with a constant exponent in (0, 1)) stays float32 from the transform to the
// compressor, and so does the signal the transform reads back to its first
// operator that is not a window, a framing or a reshaping (signalOp), when no
// other quantized operator reads it. A quantized operator that reads one of
// those values as data runs float32 too (a Q/DQ pair on a tensor feeds every
// reader). No region (regions.go) may start on or contain them. The compressor's
// output (a log-mel, a few units wide) is quantized as any other tensor. None of
// these operators has an int8 form that the rule gives up except the filter
// bank's MatMul and the window's Mul, both small beside the network after them.

// spectralRule is the rule's text in the notes, the metadata and `inspect`.
const spectralRule = "spectrum compressed by Log/Sqrt/Pow<1 (float32 from the signal through the transform to the compressor; int8 holds 48 dB, a power spectrum 60-100)"

// spectralTransform reports whether n computes a spectrum from a signal.
func spectralTransform(n *graph.Node) bool {
	return n.Domain == "" && (n.OpType == "STFT" || (n.OpType == "DFT" && n.AttrInt("inverse", 0) == 0))
}

// constExponent returns the constant scalar exponent of a Pow.
func (p *plan) constExponent(n *graph.Node) (float64, bool) {
	t := p.g.Initializers[n.Input(1)]
	if t == nil || graph.NumElements(t.Shape) != 1 {
		return 0, false
	}
	v, err := t.AsFloat64()
	if err != nil || len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

// compressor reports whether n compresses the dynamic range of its first input.
func (p *plan) compressor(n *graph.Node) bool {
	if n.Domain != "" {
		return false
	}
	switch n.OpType {
	case "Log", "Sqrt":
		return true
	case "Pow":
		e, ok := p.constExponent(n)
		return ok && e > 0 && e < 1
	}
	return false
}

// nonNegativeConst reports whether name is a float32 initializer with no
// negative value (a filter bank).
func (p *plan) nonNegativeConst(name string) bool {
	t := p.g.Initializers[name]
	if t == nil || t.DType != graph.Float32 {
		return false
	}
	for _, v := range t.F32() {
		if !(v >= 0) {
			return false
		}
	}
	return true
}

// constOrAbsent reports whether every input of n but those in spec is a
// constant (or absent).
func (p *plan) constOrAbsent(n *graph.Node, spec map[string]bool) bool {
	for _, in := range n.Inputs {
		if in != "" && !spec[in] && !p.isConst(in) {
			return false
		}
	}
	return true
}

// spectrumOp reports whether n, reading a spectrum (spec), computes a spectrum
// of the same kind: squares, magnitudes, sums over bins or components, a filter
// bank, an epsilon, a floor, a scale, a reshaping.
func (p *plan) spectrumOp(n *graph.Node, spec map[string]bool) bool {
	if n.Domain != "" || !spec[n.Input(0)] && !(len(n.Inputs) > 1 && spec[n.Input(1)]) {
		return false
	}
	switch n.OpType {
	case "ReduceSumSquare", "ReduceSum", "ReduceL2", "ReduceMean", "Abs", "Reshape", "Transpose", "Squeeze",
		"Unsqueeze", "Flatten", "Slice", "Gather", "Identity", "Split", "Expand":
		return spec[n.Input(0)] && p.constOrAbsent(n, spec)
	case "Mul", "Div", "Add", "Max", "Min", "Clip":
		// both operands spectra (a square as x·x) or one a constant
		return p.constOrAbsent(n, spec)
	case "Pow":
		e, ok := p.constExponent(n)
		return spec[n.Input(0)] && ok && e >= 1
	case "MatMul", "Gemm":
		return spec[n.Input(0)] && p.nonNegativeConst(n.Input(1)) && p.constOrAbsent(n, spec)
	case "Concat":
		for _, in := range n.Inputs {
			if !spec[in] {
				return false
			}
		}
		return true
	}
	return false
}

// signalOp reports whether n prepares a transform's signal: framing, a window,
// a reshaping, with constants for its other inputs. It returns the signal input.
func (p *plan) signalOp(n *graph.Node) (string, bool) {
	if n.Domain != "" || len(n.Outputs) != 1 {
		return "", false
	}
	switch n.OpType {
	case "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Gather", "Pad", "Identity":
		if !p.isConst(n.Input(0)) && p.constOrAbsent(n, map[string]bool{n.Input(0): true}) {
			return n.Input(0), true
		}
	case "Mul", "Div", "Add", "Sub":
		a, b := n.Input(0), n.Input(1)
		switch {
		case p.isConst(b) && !p.isConst(a):
			return a, true
		case p.isConst(a) && !p.isConst(b) && n.OpType == "Mul":
			return b, true
		}
	}
	return "", false
}

// keepSpectraFloat applies the rule to the plan and returns the regions that
// neither start on nor contain a value it keeps float32.
func (p *plan) keepSpectraFloat(rs []region) []region {
	nodes := p.g.Nodes
	spec := map[string]bool{}
	for _, n := range nodes {
		if spectralTransform(n) || p.spectrumOp(n, spec) {
			for _, o := range n.Outputs {
				if o != "" {
					spec[o] = true
				}
			}
		}
	}
	if len(spec) == 0 {
		return rs
	}
	// Backwards from the compressors: the spectra on a path to one, and the
	// transforms that start such a path.
	kept, path := map[string]bool{}, map[*graph.Node]bool{}
	var transforms []*graph.Node
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if p.compressor(n) && spec[n.Input(0)] {
			path[n] = true
			kept[n.Input(0)] = true
			continue
		}
		on := false
		for _, o := range n.Outputs {
			on = on || kept[o]
		}
		if !on {
			continue
		}
		path[n] = true
		if spectralTransform(n) {
			transforms = append(transforms, n)
			continue
		}
		for _, in := range n.Inputs {
			if spec[in] {
				kept[in] = true
			}
		}
	}
	if len(transforms) == 0 {
		return rs
	}
	// The signal, back to its first operator that does more than frame, window
	// or reshape it, while only the path reads it.
	for _, t := range transforms {
		v := t.Input(0)
		for v != "" && !kept[v] {
			pr := p.prod[v]
			if pr == nil || p.g.IsGraphOutput(v) {
				break
			}
			other := false
			for _, c := range p.cons[v] {
				other = other || !path[c]
			}
			in, ok := p.signalOp(pr)
			if other || !ok {
				break
			}
			kept[v], path[pr] = true, true
			v = in
		}
	}
	// A quantized operator reading a kept value as data runs float32.
	for _, n := range nodes {
		if !p.quantOp[n] {
			continue
		}
		for _, i := range dataInputs(n) {
			if kept[n.Input(i)] {
				path[n] = true
				break
			}
		}
	}
	var names []string
	for _, n := range nodes {
		if !path[n] {
			continue
		}
		names = append(names, n.Name)
		delete(p.quantOp, n)
	}
	// A region that starts on a kept value or contains a node of the path is
	// dropped; its other nodes are planned as if it had not been found.
	out := rs[:0]
	for _, r := range rs {
		drop := kept[r.root]
		for _, n := range r.nodes {
			drop = drop || path[n]
		}
		if !drop {
			out = append(out, r)
		}
	}
	p.ruled = append(p.ruled, FloatRule{Rule: spectralRule, Nodes: names})
	p.notes = append(p.notes, fmt.Sprintf("[%s] stay float32: %s", strings.Join(names, " "), spectralRule))
	return out
}
